"""Append-only tables, enforced by the database on PostgreSQL: a trigger refuses UPDATE and
DELETE. The model layer refuses them everywhere (see AppendOnlyModel); SQLite relies on that."""

from django.db import migrations

_FUNCTION = """
CREATE OR REPLACE FUNCTION autopack_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def _install(table: str):
    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(_FUNCTION, params=None)
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};"
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION autopack_refuse_change();"
        )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")

    return forwards, backwards


def append_only_trigger(table: str) -> migrations.RunPython:
    forwards, backwards = _install(table)
    return migrations.RunPython(forwards, backwards, elidable=False)
