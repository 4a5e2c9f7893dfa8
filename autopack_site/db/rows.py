"""Hot-path reads in plain SQL, built once from the models' metadata.

Compiling a queryset costs about 0.3-0.5 ms of Python per query, more than the query itself on
loopback PostgreSQL. The two reads every agent request makes (its key, and for an action its
idempotency key) use a `RowReader`: the column list comes from the model, the values pass through
the same converters the ORM applies, and the result is an ordinary model instance."""

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from django.db import connection, models
from django.db.models.expressions import Col


class RowReader:
    def __init__(self, model: type[models.Model], alias: str, fields: Sequence[str] = ()):
        self.model = model
        self.alias = alias
        concrete = model._meta.concrete_fields
        self.fields = [f for f in concrete if not fields or f.attname in fields or f.primary_key]

    @property
    def table(self) -> str:
        return f"{connection.ops.quote_name(self.model._meta.db_table)} {self.alias}"

    @cached_property
    def columns(self) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{quote(f.column)}" for f in self.fields)

    @cached_property
    def _converters(self) -> list[tuple[list, Col]]:
        out = []
        for field in self.fields:
            col = Col(self.alias, field)
            out.append(
                (connection.ops.get_db_converters(col) + field.get_db_converters(connection), col)
            )
        return out

    def load(self, values: Sequence[Any]) -> models.Model:
        """A model instance from this reader's slice of a row (len(self.fields) values)."""
        converted = []
        for value, (converters, col) in zip(values, self._converters, strict=True):
            for convert in converters:
                value = convert(value, col, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, self._attnames, converted)

    @cached_property
    def _attnames(self) -> list[str]:
        return [f.attname for f in self.fields]


def fetch_one(sql: str, params: Sequence[Any]) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
