"""Compiled policies, cached per process and keyed by version: compiled once per version,
never per request. A save bumps the version, so every process recompiles on next use."""

import threading

from autopack_site.models import Project
from policies.engine import CompiledPolicy, PolicySpec, compile_policy
from policies.models import GovernancePolicy
from policies.snapshots import snapshot_of, spec_from_snapshot

_cache: dict[int, tuple[int, CompiledPolicy]] = {}
_lock = threading.Lock()

# A project without a policy allows nothing without a human: no rules → require_approval.
_NO_POLICY = compile_policy(PolicySpec(version=0))


def compiled_policy_for(project: Project) -> CompiledPolicy:
    """One cheap query for the current version; rules are read and compiled only on a miss."""
    current = GovernancePolicy.objects.filter(project=project).values_list("version", flat=True)
    version = current.first()
    if version is None:
        return _NO_POLICY
    cached = _cache.get(project.pk)
    if cached is not None and cached[0] == version:
        return cached[1]
    policy = GovernancePolicy.objects.get(project=project)
    compiled = compile_policy(spec_from_snapshot(snapshot_of(policy), version=policy.version))
    with _lock:
        _cache[project.pk] = (policy.version, compiled)
    return compiled


def forget_compiled(project_id: int) -> None:
    with _lock:
        _cache.pop(project_id, None)
