"""Append-only tables, enforced by the database on PostgreSQL: a row trigger refuses UPDATE and
DELETE, a statement trigger refuses TRUNCATE (unless the session or database sets
``autopack.allow_truncate`` to ``on``: the test suite's flush). The model layer refuses them
everywhere (see AppendOnlyModel); SQLite relies on that."""

from django.db import migrations, models

_FUNCTION = """
CREATE OR REPLACE FUNCTION autopack_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION autopack_refuse_truncate() RETURNS trigger AS $$
BEGIN
    -- A deliberate escape for a database that is thrown away (the test suite's flush):
    -- the session or the database must say SET autopack.allow_truncate = 'on'.
    IF current_setting('autopack.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
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
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};"
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION autopack_refuse_truncate();"
        )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};"
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};"
        )

    return forwards, backwards


def append_only_trigger(table: str) -> migrations.RunPython:
    forwards, backwards = _install(table)
    return migrations.RunPython(forwards, backwards, elidable=False)


class AppendOnlyModel(models.Model):
    """Rows are written once: UPDATE and DELETE are refused here and, on PostgreSQL, by the
    trigger above (add ``append_only_trigger(table)`` to the model's migration)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{type(self).__name__} rows are append-only.")


class TransitionEvent(AppendOnlyModel):
    """One status change of one row, written by autopack_site.state_machine in the same
    transaction as the change. Each machine's event model adds the foreign key to its row."""

    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32)
    actor = models.CharField(max_length=200)
    reason = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]
