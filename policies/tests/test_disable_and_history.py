"""Policies are disabled, never deleted; their revisions and the decision log are append-only."""

import pytest
from django.db import DatabaseError, transaction
from django.db.models import ProtectedError

from autopack_site.errors import Conflict, Unprocessable
from policies.engine import Effect
from policies.models import DecisionLog, GovernancePolicy, PolicyRevision
from policies.services import (
    action_decide,
    policy_disable,
    policy_enable,
    policy_save_snapshot,
)

pytestmark = pytest.mark.django_db

ALLOW_WEBHOOKS = {
    "safety_profile": "normal",
    "action_rules": [{"provider_glob": "webhook", "action_glob": "send", "effect": "allow"}],
}


def decide(project) -> str:
    decision = action_decide(project=project, provider="webhook", action="send", requester="t")
    return decision.outcome


@pytest.fixture
def policy(project):
    return policy_save_snapshot(
        project=project, snapshot=ALLOW_WEBHOOKS, editor=None, reason="allow webhooks"
    )


def test_a_disabled_policy_decides_like_no_policy_and_enabling_brings_it_back(
    project, policy, operator
):
    assert decide(project) == Effect.ALLOW
    policy_disable(policy=policy, editor=operator, reason="incident 42")
    assert decide(project) == Effect.REQUIRE_APPROVAL
    disabled = DecisionLog.objects.order_by("-id").first()
    assert disabled.policy_version == 2
    policy_enable(policy=policy, editor=operator, reason="incident over")
    assert decide(project) == Effect.ALLOW

    revisions = list(PolicyRevision.objects.filter(policy=policy).order_by("version"))
    assert [(r.version, r.reason) for r in revisions] == [
        (1, "allow webhooks"),
        (2, "incident 42"),
        (3, "incident over"),
    ]
    assert revisions[1].editor == operator
    assert revisions[1].diff == [
        {"change": "setting", "field": "enabled", "from": True, "to": False}
    ]
    assert revisions[1].snapshot == revisions[0].snapshot  # the rules stay


def test_disabling_needs_a_reason_and_a_change(policy):
    with pytest.raises(Unprocessable):
        policy_disable(policy=policy, editor=None, reason=" ")
    with pytest.raises(Conflict):
        policy_enable(policy=policy, editor=None, reason="already on")
    assert GovernancePolicy.objects.get(pk=policy.pk).version == 1


def test_revisions_and_decision_logs_are_append_only_in_the_model_layer(project, policy):
    decide(project)
    revision, log = PolicyRevision.objects.get(), DecisionLog.objects.get()
    for row in (revision, log):
        with pytest.raises(ValueError, match="append-only"):
            row.save()
        with pytest.raises(ValueError, match="append-only"):
            row.delete()


def test_deleting_a_project_or_its_policy_keeps_the_history(project, policy):
    decide(project)
    with pytest.raises(ProtectedError):
        project.delete()
    with pytest.raises(ProtectedError):
        policy.delete()
    assert PolicyRevision.objects.count() == DecisionLog.objects.count() == 1


@pytest.mark.postgres
def test_the_database_refuses_to_rewrite_history_on_postgres(project, policy):
    decide(project)
    for rewrite in (
        lambda: PolicyRevision.objects.update(reason="edited"),
        lambda: DecisionLog.objects.update(outcome=Effect.ALLOW),
        lambda: PolicyRevision.objects.all().delete(),
        lambda: DecisionLog.objects.all().delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            rewrite()
