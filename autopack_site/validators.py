"""Validators shared by models and forms."""

from django.core.exceptions import ValidationError

MAX_LIST_ENTRIES = 100
MAX_ENTRY_LENGTH = 200


def validate_string_list(value) -> None:
    """A list of short printable strings (scopes, action globs): what such a JSON field holds."""
    if not isinstance(value, list):
        raise ValidationError("A list of strings, one per line.")
    if len(value) > MAX_LIST_ENTRIES:
        raise ValidationError(f"At most {MAX_LIST_ENTRIES} entries.")
    for entry in value:
        if not isinstance(entry, str) or not entry.strip():
            raise ValidationError("Every entry is a non-empty string.")
        if len(entry) > MAX_ENTRY_LENGTH or not entry.isprintable():
            raise ValidationError(
                f"Entries are printable text of at most {MAX_ENTRY_LENGTH} characters."
            )
