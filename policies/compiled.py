"""Compiled policies, cached per process: compiled once per policy version, never per request.
The stamp (row id, version, updated_at) changes on every save, so every process recompiles on
its next use; a recreated policy (new row) never reuses an old compilation."""

import functools
import threading

from django.db import connection

from autopack_site.db.rows import fetch_one
from autopack_site.models import Project
from policies.engine import CompiledPolicy, PolicySpec, compile_policy
from policies.models import GovernancePolicy
from policies.snapshots import snapshot_of, spec_from_snapshot

_cache: dict[int, tuple[tuple, CompiledPolicy]] = {}
_lock = threading.Lock()

# A project without a policy allows nothing without a human: no rules → require_approval.
_NO_POLICY = compile_policy(PolicySpec(version=0))


_UNREAD = object()


def compiled_policy_for(project: Project, *, stamp: tuple | None = _UNREAD) -> CompiledPolicy:
    """One cheap query for the current version (or none: ``stamp`` as read by the caller through
    `policy_stamp_join`); rules are read and compiled only on a miss."""
    if stamp is _UNREAD:
        stamp = _stamp(project.pk)
    if stamp is None or stamp[0] is None:
        return _NO_POLICY
    cached = _cache.get(project.pk)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    policy = GovernancePolicy.objects.get(project=project)
    if policy.enabled:
        compiled = compile_policy(spec_from_snapshot(snapshot_of(policy), version=policy.version))
    else:  # disabled: no rules, so nothing is allowed without a human (its version is logged)
        compiled = compile_policy(PolicySpec(version=policy.version))
    with _lock:
        # the stamp read before the rules: a save in between only costs a recompile next time
        _cache[project.pk] = (stamp, compiled)
    return compiled


def _stamp(project_id: int) -> tuple | None:
    """(id, version, updated_at) of the project's policy, in plain SQL: it runs per decision."""
    columns, join = policy_stamp_join("p")
    return fetch_one(f"SELECT {columns} FROM (SELECT 1) AS one {join}", [project_id])


STAMP_WIDTH = 3


@functools.cache
def policy_stamp_join(alias: str) -> tuple[str, str]:
    """For reading the stamp inside another query: (its STAMP_WIDTH columns, a LEFT JOIN with one
    %s for the project id). No policy reads as NULLs."""
    meta, quote = GovernancePolicy._meta, connection.ops.quote_name
    columns = ", ".join(
        f"{alias}.{quote(meta.get_field(name).column)}" for name in ("id", "version", "updated_at")
    )
    join = (
        f"LEFT JOIN {quote(meta.db_table)} {alias} "
        f"ON {alias}.{quote(meta.get_field('project').column)} = %s"
    )
    return columns, join


def forget_compiled(project_id: int) -> None:
    with _lock:
        _cache.pop(project_id, None)
