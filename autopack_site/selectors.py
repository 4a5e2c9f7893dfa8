"""Reads for tenancy."""

from autopack_site.db.rows import RowReader, fetch_one
from autopack_site.models import AgentKey, Project

_KEY_ROW = RowReader(AgentKey, "k")
_KEY_PROJECT_ROW = RowReader(Project, "p")


def agent_key_by_prefix(*, prefix: str) -> AgentKey | None:
    """The key with its project, in one query (every agent request makes it)."""
    row = fetch_one(
        f"SELECT {_KEY_ROW.columns}, {_KEY_PROJECT_ROW.columns} FROM {_KEY_ROW.table} "
        f"JOIN {_KEY_PROJECT_ROW.table} ON p.id = k.project_id WHERE k.prefix = %s",
        [prefix],
    )
    if row is None:
        return None
    split = len(_KEY_ROW.fields)
    key = _KEY_ROW.load(row[:split])
    AgentKey.project.field.set_cached_value(key, _KEY_PROJECT_ROW.load(row[split:]))
    return key
