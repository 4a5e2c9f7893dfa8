"""Every append-only table refuses UPDATE, DELETE and TRUNCATE in the database itself (on
PostgreSQL), whatever client talks to it: the history the ledger, approvals, policies, trading,
publishing, runs and artifacts keep cannot be edited or emptied from outside the application."""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from autopack_site.db.append_only import AppendOnlyModel

# postgres: the triggers exist on PostgreSQL; SQLite (skipped) relies on the model layer
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def append_only_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, AppendOnlyModel) and not model._meta.abstract
    )


def triggers_of(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def test_every_append_only_table_has_its_row_and_truncate_triggers():
    tables = append_only_tables()
    assert len(tables) >= 18, tables
    missing = {
        table: {f"{table}_append_only", f"{table}_no_truncate"} - triggers_of(table)
        for table in tables
    }
    assert {table: names for table, names in missing.items() if names} == {}


@pytest.mark.parametrize("table", append_only_tables())
def test_truncate_is_refused(table):
    """(The test database allows it, for the suite's flush; a production database does not.)"""
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL autopack.allow_truncate = 'off'")
        cursor.execute(f'TRUNCATE "{table}" CASCADE')
