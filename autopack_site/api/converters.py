"""``<id:name>`` in URL patterns: a positive 64-bit row id. Anything larger names no row (and
SQLite could not even bind it), so the path simply does not match: a 404 in the error shape."""

from autopack_site.api.inputs import MAX_BIGINT


class RowIdConverter:
    regex = "[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_BIGINT:
            raise ValueError("beyond a 64-bit id")  # Django treats this as "no match"
        return number

    def to_url(self, value: int) -> str:
        return str(value)
