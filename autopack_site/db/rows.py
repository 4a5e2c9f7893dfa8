"""Hot-path reads and writes in plain SQL, built once from the models' metadata.

Compiling a queryset costs about 0.3-0.5 ms of Python per query, more than the query itself on
loopback PostgreSQL. The two reads every agent request makes (its key, and for an action its
idempotency key) use a `RowReader`: the column list comes from the model, the values pass through
the same converters the ORM applies, and the result is an ordinary model instance.

A proposal's rows are written by `insert_together` (PostgreSQL): one statement inserts a row and,
only if it went in, the rows that depend on it; values pass through the fields' own
`get_db_prep_save`, as the ORM's would."""

import functools
from collections.abc import Sequence
from contextlib import nullcontext
from functools import cached_property
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import CharField, Field, TextField
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


def next_id_sql(model: type[models.Model]) -> str:
    """PostgreSQL: an expression taking the next primary key of ``model``'s table from its
    sequence, so the rows that refer to it (and an answer that names it) can be built before
    the INSERT."""
    meta = model._meta
    return f"nextval(pg_get_serial_sequence('{meta.db_table}', '{meta.pk.column}'))"


def _stored_fields(model: type[models.Model], with_pk: bool) -> list[Field]:
    return [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]


def _db_value(field: Field, obj: models.Model, db: BaseDatabaseWrapper) -> Any:
    value = getattr(obj, field.attname)
    if value is None and (
        getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ):
        value = field.pre_save(obj, add=True)  # sets the attribute too
    return field.get_db_prep_save(value, db)


def _column_type(field: Field) -> str:
    # Strings go as text: the assignment to varchar(n) still refuses an over-long value, where
    # an explicit cast to varchar(n) would cut it silently.
    if isinstance(field, CharField | TextField):
        return "text"
    return field.db_type(connection)


@functools.cache
def _insert_together_sql(
    shapes: tuple[tuple[type[models.Model], bool], ...], lock_timeout_ms: int
) -> tuple[str, tuple[list[Field], ...]]:
    """The statement for rows of these (model, pk given) shapes, first one first, and the
    fields whose values it takes, row by row."""
    quote = connection.ops.quote_name
    (model, with_pk), *dependents = shapes
    fields = _stored_fields(model, with_pk)
    parts = [
        f"first_row AS (INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING "
        f"RETURNING {quote(model._meta.pk.column)})"
    ]
    row_fields = [fields]
    for n, (model, with_pk) in enumerate(dependents):
        fields = _stored_fields(model, with_pk)
        row_fields.append(fields)
        # SELECT ... FROM first_row: no row unless first went in. The casts type every value as
        # its column (a bare NULL in a SELECT list would be text).
        values = ", ".join(f"%s::{_column_type(f)}" for f in fields)
        parts.append(
            f"dependent_{n} AS (INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(f.column) for f in fields)}) SELECT {values} FROM first_row)"
        )
    sql = (
        f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}; "
        f"WITH {', '.join(parts)} SELECT count(*) FROM first_row"
    )
    return sql, tuple(row_fields)


def insert_together(
    first: models.Model, dependents: Sequence[models.Model], *, lock_timeout_ms: int
) -> bool:
    """PostgreSQL, one round trip (SET LOCAL and one statement, run as one implicit transaction,
    or in a savepoint of the caller's): INSERT
    ``first`` unless it clashes with a unique constraint, and the ``dependents`` only if it went in.
    A clash with a row another transaction has not committed yet waits for that commit, at most
    ``lock_timeout_ms`` (then OperationalError, sqlstate 55P03). True if ``first`` went in.

    Needs the client-side binding Django uses by default with psycopg (several statements in one
    execute); model ``save()`` and signals are not involved."""
    rows = (first, *dependents)
    sql, row_fields = _insert_together_sql(
        tuple((type(row), row.pk is not None) for row in rows), int(lock_timeout_ms)
    )
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the proxy costs a lookup per use
    params = [
        _db_value(f, row, db) for row, fields in zip(rows, row_fields, strict=True) for f in fields
    ]
    # Inside a caller's transaction a savepoint keeps a failure (a lock timeout) from aborting it.
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.nextset()  # past the SET's empty result to the count
        return cursor.fetchone()[0] == 1
