"""Every status in Autopack changes through autopack_site/state_machine.py.

1. A scan of the runtime code (tests and migrations aside) finds no status written any other
   way: no ``x.status = ...``, no ``status=`` in an ORM write (update, create, bulk_update,
   update_or_create, get_or_create) or in the constructor of a model a machine governs.
2. Every machine's table is walked on real rows: each allowed move once (with its event row),
   and one move the table does not allow, refused with IllegalTransition.
"""

import ast
import importlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from autopack_site.state_machine import MACHINES, IllegalTransition, StateMachine

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = [
    path
    for app in (
        "autopack_site",
        "runs",
        "approvals",
        "ledger",
        "policies",
        "trading",
        "artifacts",
        "publishing",
    )
    for path in (ROOT / app).rglob("*.py")
    if "tests" not in path.parts and "migrations" not in path.parts
]
HELPER = ROOT / "autopack_site" / "state_machine.py"
# Every machine registers itself when its app's transitions module is imported: import them all
# here, so what this module sees does not depend on which tests ran before it.
for _transitions in sorted(ROOT.glob("*/transitions.py")):
    importlib.import_module(f"{_transitions.parent.name}.transitions")
ORM_WRITES = {"update", "create", "bulk_create", "get_or_create", "update_or_create"}


def _governed_model_names() -> set[str]:
    return {machine.model.__name__ for machine in MACHINES}


def _machine_names() -> set[str]:
    """Module-level names bound to StateMachine(...): their create() is the helper's own."""
    names = set()
    for path in RUNTIME:
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", "") == "StateMachine"
            ):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _status_writes(path: Path, governed: set[str], machines: frozenset[str] = frozenset()):
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def where(node) -> str:
        return f"{path.relative_to(ROOT)}:{node.lineno}"

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "status":
                    found.append(f"{where(node)} assigns .status")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        keywords = {kw.arg for kw in node.keywords}
        on_machine = isinstance(func, ast.Attribute) and getattr(func.value, "id", "") in machines
        if name in ORM_WRITES | governed and "status" in keywords and not on_machine:
            found.append(f"{where(node)} passes status= to {name}()")
        if name in ("update_or_create", "get_or_create"):
            for kw in node.keywords:
                if kw.arg == "defaults" and isinstance(kw.value, ast.Dict):
                    keys = [k.value for k in kw.value.keys if isinstance(k, ast.Constant)]
                    if "status" in keys:
                        found.append(f"{where(node)} writes status through defaults=")
        if name == "bulk_update" or (name == "setattr" and len(node.args) >= 2):
            strings = [a.value for a in ast.walk(node) if isinstance(a, ast.Constant)]
            if "status" in strings:
                found.append(f"{where(node)} writes status through {name}()")
    return found


def test_no_status_is_written_outside_the_state_machine_helper():
    governed = _governed_model_names()
    assert {"Run", "Phase", "Attempt", "ApprovalRequest", "ExternalAction"} <= governed
    machines = frozenset(_machine_names())
    assert {"RUN", "PHASE", "ATTEMPT", "APPROVAL", "ACTION"} <= machines
    stray = [
        finding
        for path in RUNTIME
        if path != HELPER
        for finding in _status_writes(path, governed, machines)
    ]
    assert stray == []


def test_the_scan_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "action.status = 'x'\n"
        "ExternalAction.objects.filter(pk=1).update(status='x')\n"
        "Run(status='x')\n"
        "Thing.objects.update_or_create(pk=1, defaults={'status': 'x'})\n"
        "Thing.objects.bulk_update(rows, ['status'])\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert len(_status_writes(sample, {"Run"})) == 5
    finally:
        ROOT = saved


# --- every table, walked on real rows ----------------------------------------------------------


def _rows():
    """A factory per machine: a saved row of its model, in any state (set by the test)."""
    from approvals.services import approval_request_create
    from ledger.models import ExternalAction
    from runs.models import Attempt
    from tests.factories import make_key, make_project, make_run

    project = make_project()
    make_key(project)
    run = make_run(project)
    phase = run.phases.get(key="plan")
    counter = iter(range(10_000))

    def attempt():
        return Attempt.objects.create(
            run=run,
            phase=phase,
            number=next(counter),
            status="succeeded",
            lease_expires_at=timezone.now() + timedelta(minutes=5),
        )

    def action():
        n = next(counter)
        return ExternalAction.objects.create(
            project=project,
            idempotency_key=f"k-{n}",
            request_hash="0" * 64,
            provider="webhook",
            action="send",
            payload={},
            payload_hash="0" * 64,
            reference=f"ap-{n}",
            status="denied",
        )

    def approval():
        n = next(counter)
        return approval_request_create(
            project=project, kind="patch", subject=f"s-{n}", title="t", payload={"n": n}
        )

    def artifact():
        from tests.role_matrix.world import make_artifact

        return make_artifact(project)

    def handoff():
        from tests.role_matrix.world import make_handoff

        return make_handoff(project, run)

    return {
        "Artifact": artifact,
        "Handoff": handoff,
        "Run": lambda: make_run(project),
        "Phase": lambda: make_run(project).phases.get(key="plan"),
        "Attempt": attempt,
        "ApprovalRequest": approval,
        "ExternalAction": action,
    }


# Fields some states need (their constraints), given when moving into them.
NEEDS = {("ExternalAction", "executing"): {"lease_expires_at": timezone.now() + timedelta(1)}}


def _walk(machine: StateMachine, make) -> int:
    moved = 0
    for from_status, targets in machine.transitions.items():
        for to_status in sorted(targets):
            row = make()
            setup = NEEDS.get((type(row).__name__, from_status), {})
            type(row).objects.filter(pk=row.pk).update(status=from_status, **setup)
            row.refresh_from_db()
            fields = NEEDS.get((type(row).__name__, to_status), {})
            machine.move(row, to_status, actor="test", reason="walk", **fields)
            row.refresh_from_db()
            assert row.status == to_status
            event = machine.event_model.objects.filter(**machine.event_owner(row)).latest("id")
            assert (event.from_status, event.to_status, event.actor) == (
                from_status,
                to_status,
                "test",
            )
            moved += 1
    return moved


def _illegal(machine: StateMachine, make) -> None:
    terminal = sorted(machine.terminal)[0]
    row = make()
    type(row).objects.filter(pk=row.pk).update(status=terminal)
    row.refresh_from_db()
    target = sorted(set(machine.transitions) - {terminal})[0]
    with pytest.raises(IllegalTransition):
        machine.move(row, target, actor="test")
    row.refresh_from_db()
    assert row.status == terminal


@pytest.mark.django_db
def test_every_machine_walks_its_whole_table_and_refuses_what_is_not_in_it():
    makers = _rows()
    walked = {}
    for machine in MACHINES:
        name = machine.model.__name__
        if name not in makers:
            continue  # machines of apps with their own walk (see trading/tests)
        walked[name] = _walk(machine, makers[name])
        _illegal(machine, makers[name])
    assert set(walked) == set(makers)
    assert all(walked.values())
