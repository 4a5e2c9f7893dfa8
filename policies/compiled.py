"""Compiled policies, cached per process: compiled once per policy version, never per request.
The stamp (row id, version, updated_at) changes on every save, so every process recompiles on
its next use; a recreated policy (new row) never reuses an old compilation."""

import threading

from autopack_site.models import Project
from policies.engine import CompiledPolicy, PolicySpec, compile_policy
from policies.models import GovernancePolicy
from policies.snapshots import snapshot_of, spec_from_snapshot

_cache: dict[int, tuple[tuple, CompiledPolicy]] = {}
_lock = threading.Lock()

# A project without a policy allows nothing without a human: no rules → require_approval.
_NO_POLICY = compile_policy(PolicySpec(version=0))


def compiled_policy_for(project: Project) -> CompiledPolicy:
    """One cheap query for the current version's stamp; rules are read and compiled only on a
    miss."""
    stamp = (
        GovernancePolicy.objects.filter(project_id=project.pk)
        .values_list("id", "version", "updated_at")
        .first()
    )
    if stamp is None:
        return _NO_POLICY
    cached = _cache.get(project.pk)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    policy = GovernancePolicy.objects.get(project=project)
    compiled = compile_policy(spec_from_snapshot(snapshot_of(policy), version=policy.version))
    with _lock:
        # the stamp read before the rules: a save in between only costs a recompile next time
        _cache[project.pk] = (stamp, compiled)
    return compiled


def forget_compiled(project_id: int) -> None:
    with _lock:
        _cache.pop(project_id, None)
