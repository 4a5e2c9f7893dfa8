"""The governance invariants, checked by a machine.

hypothesis drives random interleavings of what agents, operators, attackers and failures do —
propose (allowed, needing approval, denied; repeated keys), approve, reject, tamper with the
stored payload, expire, revoke the agent's key, pull and release the emergency switch, execute,
crash the call after the provider took it, reconcile — against the real services and the fake
provider over loopback HTTP, and after every step checks what the platform promises:

* nothing reached the provider without an allow decision or an approval of its exact payload
  hash, and what reached it is the payload that was decided;
* while the emergency switch is engaged, only what a person approved under it is called;
* at most one provider call per Idempotency-Key;
* every status an action or approval is in was reached through an event row (the chain of
  events ends where the row is);
* nothing final ever changes again.

CI runs a bounded search (AUTOPACK_INVARIANT_EXAMPLES x AUTOPACK_INVARIANT_STEPS); the report runs
a longer one. The last test seeds a bug on purpose (execution skips the payload-hash re-check)
and requires the machine to find it.
"""

import itertools
import json
import os
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import approval_consume, approval_decide, approvals_expire
from approvals.transitions import APPROVAL
from autopack_site.models import Role
from autopack_site.services import agent_key_create, agent_key_revoke
from conftest import agent_client
from ledger.models import ActionStatus, ExternalAction
from ledger.services import action_execute, action_reconcile, actions_release_guarded
from ledger.services import execution as execution_module
from ledger.tests.conftest import product, propose
from ledger.transitions import ACTION
from publishing.selectors import engaged_switches
from publishing.switch import emergency_switch_engage, emergency_switch_release
from tests.factories import make_member

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("AUTOPACK_INVARIANT_EXAMPLES", "20"))
STEPS = int(os.environ.get("AUTOPACK_INVARIANT_STEPS", "30"))

KINDS = {
    "allowed": ("webhook", "send"),
    "needs_approval": ("shopify", "products.create"),
    "denied": ("etsy", "listings.create_draft"),
}
FAULT_PATHS = {"webhook": "/webhook/", "shopify": "/admin/api/", "etsy": "/v3/"}
LIVE = {ActionStatus.APPROVED, ActionStatus.PENDING_APPROVAL, ActionStatus.HELD}


def payload_for(kind: str, tag: str, fake_url: str) -> dict:
    if kind == "allowed":
        return {
            "url": f"{fake_url}/webhook/invariants",
            "event": "invariants",
            "data": {"tag": tag},
        }
    if kind == "needs_approval":
        return product(title=f"inv {tag}", tags=[tag])
    return {
        "shop_id": 1,
        "quantity": 1,
        "title": f"inv {tag}",
        "description": "d",
        "price": "1.00",
        "who_made": "i_did",
        "when_made": "made_to_order",
        "taxonomy_id": 1,
    }


def delivered(fake) -> list[tuple[str, dict]]:
    """What reached the provider: (tag, what it received) for each call it accepted."""
    state = fake.state_snapshot()["created"]
    calls = []
    for item in state.get("webhook", []):
        body = json.loads(item["body"])
        calls.append((body["data"]["tag"], {"data": body["data"], "event": body["event"]}))
    for node in state.get("shopify", []):
        calls.append((node["title"].removeprefix("inv ").removeprefix("tampered "), node))
    for listing in state.get("etsy", []):
        calls.append((listing["title"].removeprefix("inv "), listing))
    return calls


def as_received(kind: str, payload: dict) -> dict:
    """What the provider receives for ``payload``, in the shape `delivered` reports it."""
    if kind == "allowed":
        return {"data": payload["data"], "event": payload["event"]}
    return {"title": payload["title"]}


class GovernanceMachine(RuleBasedStateMachine):
    def __init__(self, world, seen: Counter):
        super().__init__()
        self.project, self.fake, self.approver, self.owner = world
        self.seen = seen  # what the steps led to, so a test can show the search is not vacuous
        self.proposals: dict[str, dict] = {}  # tag -> kind, payload, action id
        self.final: dict[tuple[str, int], str] = {}

    # --- set-up -------------------------------------------------------------------------------
    @initialize()
    def start(self):
        self.fake.state.reset()
        for switch in engaged_switches(self.project.pk):  # an earlier example's
            emergency_switch_release(switch_id=switch.pk, user=self.owner, reason="next example")
        self.prefix = uuid.uuid4().hex[:8]
        self.revoked = False
        self._new_key()

    def _new_key(self):
        self.key, plaintext = agent_key_create(
            project=self.project,
            name=f"inv-{uuid.uuid4().hex[:8]}",
            scopes=["read", "actions:write"],
        )
        self.client = agent_client(plaintext)

    def _actions(self, statuses=None) -> list[ExternalAction]:
        ids = [p["action_id"] for p in self.proposals.values() if p.get("action_id")]
        rows = ExternalAction.objects.filter(pk__in=ids).order_by("pk")
        return list(rows if statuses is None else rows.filter(status__in=statuses))

    def _approvals(self, status=None) -> list[ApprovalRequest]:
        ids = [a.approval_id for a in self._actions() if a.approval_id]
        rows = ApprovalRequest.objects.filter(pk__in=ids).order_by("pk")
        return list(rows if status is None else rows.filter(status=status))

    @staticmethod
    def _pick(rows, index):
        return rows[index % len(rows)] if rows else None

    # --- what agents, operators, attackers and failures do ------------------------------------
    @rule(kind=st.sampled_from(sorted(KINDS)), n=st.integers(0, 3))
    def propose(self, kind, n):
        tag = f"{self.prefix}-{kind[0]}{n}"
        known = self.proposals.setdefault(
            tag, {"kind": kind, "payload": payload_for(kind, tag, self.fake.url)}
        )
        provider, action = KINDS[kind]
        response = propose(self.client, tag, provider, action, known["payload"])
        assert response.status_code in (200, 201), response.content
        body = response.json()
        assert known.setdefault("action_id", body["id"]) == body["id"], "a key made two actions"

    @rule(kind=st.sampled_from(sorted(KINDS)), n=st.integers(0, 3))
    def propose_again(self, kind, n):
        """Proposals are what everything else acts on: twice as likely as any other step."""
        self.propose(kind, n)

    @rule(index=st.integers(0, 9), approve=st.booleans())
    def decide(self, index, approve):
        request = self._pick(self._approvals(ApprovalStatus.PENDING), index)
        if request is None:
            return
        self.seen["approved" if approve else "rejected"] += 1
        with TestCase.captureOnCommitCallbacks(execute=True):
            approval_decide(
                request_id=request.pk,
                user=self.approver,
                approve=approve,
                payload_hash_seen=request.payload_hash,
                reason="" if approve else "not this one",
                reason_code="" if approve else "other",
            )

    @rule(index=st.integers(0, 9))
    def tamper(self, index):
        action = self._pick(self._actions(LIVE), index)
        if action is None:
            return
        tampered = dict(action.payload)
        if "title" in tampered:
            tampered["title"] = tampered["title"].replace("inv ", "tampered ", 1)
        else:
            tampered["data"] = {**tampered["data"], "evil": True}
        ExternalAction.objects.filter(pk=action.pk).update(payload=tampered)
        self.seen["tampered"] += 1

    @rule(index=st.integers(0, 9))
    def expire(self, index):
        request = self._pick(self._approvals(ApprovalStatus.PENDING), index)
        if request is None:
            return
        ApprovalRequest.objects.filter(pk=request.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        with TestCase.captureOnCommitCallbacks(execute=True):
            self.seen["expired"] += approvals_expire()

    @precondition(lambda self: not self.revoked and len(self.proposals) >= 3)
    @rule()
    def revoke_key(self):
        """Once per example: revoking cancels everything the key had waiting."""
        self.revoked = True
        with TestCase.captureOnCommitCallbacks(execute=True):
            agent_key_revoke(key=self.key, reason="invariants")
        self.seen["revoked"] += 1
        self._new_key()

    @rule(engage=st.booleans())
    def emergency_switch(self, engage):
        """An agent pulls the project's emergency switch; only an owner releases it."""
        with TestCase.captureOnCommitCallbacks(execute=True):
            if engage:
                emergency_switch_engage(project=self.project, actor="agent:inv", reason="brakes")
                self.seen["switch engaged"] += 1
                return
            for switch in engaged_switches(self.project.pk):
                emergency_switch_release(switch_id=switch.pk, user=self.owner, reason="ok")
                self.seen["switch released"] += 1
        actions_release_guarded()

    def _execute(self, action, what: str) -> None:
        """Runs the worker's task; a call made while the emergency switch is engaged must be for
        an action a person approved after it was engaged."""
        switches = engaged_switches(self.project.pk)
        calls_before = len(delivered(self.fake))
        with TestCase.captureOnCommitCallbacks(execute=True):
            self.seen[f"{what}: {action_execute(action.pk)}"] += 1
        if switches and len(delivered(self.fake)) > calls_before:
            engaged_at = max(switch.engaged_at for switch in switches)
            decided_at = (
                ApprovalRequest.objects.get(pk=action.approval_id).decided_at
                if action.approval_id
                else None
            )
            assert decided_at is not None and decided_at >= engaged_at, (
                f"action #{action.pk} reached the provider past the engaged emergency switch"
            )

    @rule(index=st.integers(0, 9))
    def execute(self, index):
        action = self._pick(self._actions([ActionStatus.APPROVED]), index)
        if action is not None:
            self._execute(action, "executed")

    @rule(index=st.integers(0, 9))
    def crash_after_the_provider_took_it(self, index):
        action = self._pick(self._actions([ActionStatus.APPROVED]), index)
        if action is None:
            return
        self.fake.fault(match=FAULT_PATHS[action.provider], mode="drop_after_commit")
        self._execute(action, "crashed")
        self.fake.state.faults.clear()

    @rule(index=st.integers(0, 9))
    def reconcile(self, index):
        action = self._pick(self._actions([ActionStatus.UNKNOWN]), index)
        if action is not None:
            self.seen[f"reconciled: {action_reconcile(action.pk)}"] += 1

    # --- what must hold after every step ------------------------------------------------------
    @invariant()
    def only_what_was_decided_reaches_the_provider_once(self):
        calls = delivered(self.fake)
        tags = [tag for tag, _ in calls if tag.startswith(self.prefix)]
        assert len(tags) == len(set(tags)), f"a key reached the provider twice: {sorted(tags)}"
        for tag, received in calls:
            if not tag.startswith(self.prefix):
                continue
            known = self.proposals[tag]
            action = ExternalAction.objects.get(pk=known["action_id"])
            expected = as_received(known["kind"], known["payload"])
            assert {k: received.get(k) for k in expected} == expected, (
                f"{tag}: the provider received {received}, not the payload that was decided"
            )
            if action.decision["outcome"] == "allow":
                continue
            approval = ApprovalRequest.objects.get(pk=action.approval_id)
            assert approval.status in (ApprovalStatus.APPROVED, ApprovalStatus.CONSUMED), (
                f"{tag}: reached the provider with its approval {approval.status}"
            )
            assert approval.payload_hash == action.payload_hash

    @invariant()
    def every_status_was_reached_through_its_events(self):
        for machine, rows in ((ACTION, self._actions()), (APPROVAL, self._approvals())):
            for row in rows:
                chain = list(
                    machine.event_model.objects.filter(**machine.event_owner(row))
                    .order_by("pk")
                    .values_list("from_status", "to_status")
                )
                assert chain and chain[0][0] == "", f"{machine.label} #{row.pk} has no first event"
                for (_, before), (after, _) in itertools.pairwise(chain):
                    assert before == after, f"{machine.label} #{row.pk}: events skip {chain}"
                assert chain[-1][1] == row.status, (
                    f"{machine.label} #{row.pk}: {chain} {row.status}"
                )

    @invariant()
    def nothing_final_changes_again(self):
        for machine, rows in ((ACTION, self._actions()), (APPROVAL, self._approvals())):
            for row in rows:
                seen = self.final.get((machine.label, row.pk))
                if seen is not None:
                    assert row.status == seen, f"{machine.label} #{row.pk}: {seen} → {row.status}"
                elif row.status in machine.terminal:
                    self.final[(machine.label, row.pk)] = row.status


def run_machine(world, *, examples: int, steps: int, phases=tuple(Phase)) -> Counter:
    seen: Counter = Counter()
    run_state_machine_as_test(
        lambda: GovernanceMachine(world, seen),
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            # the same search every run (CI is reproducible); a longer one with more examples
            derandomize=True,
            phases=phases,
            suppress_health_check=list(HealthCheck),
        ),
    )
    return seen


@pytest.fixture
def world(ledger_project, fake_provider, approver):
    return ledger_project, fake_provider, approver, make_member(ledger_project, Role.OWNER)


def test_the_governance_invariants_hold_under_random_interleavings(world):
    seen = run_machine(world, examples=EXAMPLES, steps=STEPS)
    print(f"invariants held over {EXAMPLES} x {STEPS} steps; what happened: {dict(seen)}")
    # the search reached the paths the invariants are about
    assert seen["executed: succeeded"] and seen["approved"] and seen["tampered"], seen


def test_the_machine_finds_a_seeded_bug_execution_without_the_hash_recheck(world, monkeypatch):
    def verify_without_the_hash_check(action, worker):
        """action_verify with its first check removed: the approval is still consumed."""
        if action.approval_id:
            approval_consume(
                request_id=action.approval_id,
                target_id=action.pk,
                payload_hash=action.payload_hash,
                actor=worker,
            )

    monkeypatch.setattr(execution_module, "action_verify", verify_without_the_hash_check)
    with pytest.raises(AssertionError, match="not the payload that was decided"):
        run_machine(world, examples=200, steps=STEPS, phases=(Phase.generate,))
