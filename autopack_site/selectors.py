"""Reads for tenancy."""

from autopack_site.models import AgentKey


def agent_key_by_prefix(*, prefix: str) -> AgentKey | None:
    """The key with its project, in one query (every agent request makes it)."""
    return AgentKey.objects.select_related("project").filter(prefix=prefix).first()
