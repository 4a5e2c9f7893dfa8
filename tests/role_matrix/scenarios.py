"""One scenario per admin action and custom view: a fresh row in the state it needs, how to
perform it, and how to tell it was done."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.urls import reverse

from approvals.models import ApprovalStatus
from approvals.services import approval_request_create
from artifacts.models import RetentionOverride
from autopack_site.models import Project, ProjectMembership, Role
from autopack_site.services import agent_key_create
from ledger.models import ActionStatus
from policies.models import GovernancePolicy
from policies.services import policy_disable, policy_enable
from policies.snapshots import snapshot_of
from publishing.models import EmergencySwitch, PolicySource, PublishTermList
from publishing.transitions import SWITCH
from runs.models import RunStatus
from runs.services import run_pause
from tests.factories import make_run, make_staff
from tests.role_matrix.world import (
    admin_url,
    make_action,
    make_credential,
    make_policy_change,
    make_policy_source,
    unique,
)
from trading.models import LIMIT_FIELDS, KillSwitch
from trading.services import account_create, kill_switch_set


def _switch_in(status: str):
    def prepare(project):
        from django.db import transaction

        with transaction.atomic():
            switch = SWITCH.lock(EmergencySwitch.objects.get(project=project).pk)
            if switch.status != status:
                SWITCH.move(switch, status, actor="matrix", engaged_by="matrix")
        return switch

    return prepare


def _etsy_source(project):
    PolicySource.objects.filter(project=project, provider="etsy").delete()
    return make_policy_source(project, provider="etsy")


@dataclass(frozen=True)
class Scenario:
    """A fresh row in the state the action needs, and how to tell it was done."""

    prepare: Callable[[Project], Any]
    done: Callable[[Any], bool]
    extra: Callable[[Any], dict[str, str]] = lambda obj: {}
    url: Callable[[Any], str] | None = None  # a custom view's URL (None: the changelist)


def _fresh(obj):
    return type(obj)._default_manager.filter(pk=obj.pk).first()


def _key(project):
    return agent_key_create(project=project, name=f"k-{next(unique)}", scopes=["read"])[0]


def _paused_run(project):
    run = make_run(project)
    run_pause(run=run, actor="matrix", reason="")
    return run


def _policy_in_state(enabled: bool):
    def prepare(project):
        policy = GovernancePolicy.objects.get(project=project)
        if policy.enabled != enabled:
            change = policy_enable if enabled else policy_disable
            change(policy=policy, editor=None, reason="matrix")
        return policy

    return prepare


def _approval(project):
    n = next(unique)
    return approval_request_create(
        project=project, kind="action", subject=f"m-{n}", title=f"m-{n}", payload={"n": n}
    )


def _status_of(status):
    return lambda obj: _fresh(obj).status == status


def _account(engaged: bool):
    def prepare(project):
        account = account_create(
            project=project, name=f"m-{next(unique)}", mode="paper", actor="matrix"
        )
        if engaged:
            kill_switch_set(account=account, engaged=True, reason="matrix")
        return account

    return prepare


def _alpaca_account(project):
    # no credential in the matrix's world: the run is recorded as tried (reconcile_error)
    return account_create(
        project=project, name=f"m-{next(unique)}", mode="paper", broker="alpaca", actor="matrix"
    )


def _tightened(account):
    return _fresh(account).max_orders_per_day == 5


def _limits_form(account):
    return {
        **{name: str(getattr(account, name)) for name in LIMIT_FIELDS},
        "allowed_symbols": "",
        "max_orders_per_day": "5",  # from 10: a tightening, applied at once
        "reason": "matrix",
    }


def _switch_is(status):
    return lambda account: KillSwitch.objects.get(pk=account.pk).status == status


SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("trading.tradingaccount", "action_engage_kill_switch"): Scenario(
        _account(False), _switch_is("engaged")
    ),
    ("trading.tradingaccount", "action_release_kill_switch"): Scenario(
        _account(True), _switch_is("released")
    ),
    ("trading.tradingaccount", "action_reconcile"): Scenario(
        _alpaca_account, lambda account: _fresh(account).reconcile_error != ""
    ),
    ("trading.tradingaccount", "limits"): Scenario(
        _account(False),
        _tightened,
        _limits_form,
        url=lambda account: reverse("admin:trading_tradingaccount_limits", args=[account.pk]),
    ),
    ("autopack_site.projectmembership", "delete_selected"): Scenario(
        lambda p: make_staff(p, Role.VIEWER),
        lambda user: not ProjectMembership.objects.filter(user=user).exists(),
        lambda user: {"post": "yes"},
    ),
    ("autopack_site.agentkey", "action_revoke"): Scenario(
        _key, lambda key: _fresh(key).revoked_at is not None
    ),
    ("runs.run", "action_pause"): Scenario(make_run, _status_of(RunStatus.PAUSED)),
    ("runs.run", "action_resume"): Scenario(
        _paused_run, lambda run: _fresh(run).status != RunStatus.PAUSED
    ),
    ("runs.run", "action_cancel"): Scenario(make_run, _status_of(RunStatus.CANCELLED)),
    ("policies.governancepolicy", "action_disable"): Scenario(
        _policy_in_state(True), lambda policy: not _fresh(policy).enabled
    ),
    ("policies.governancepolicy", "action_enable"): Scenario(
        _policy_in_state(False), lambda policy: _fresh(policy).enabled
    ),
    ("policies.governancepolicy", "preview"): Scenario(
        _policy_in_state(True),
        lambda policy: _fresh(policy).version > policy.version,
        lambda policy: {
            "draft": json.dumps(snapshot_of(policy), default=str),
            "save": "yes",
            "reason": "saved from the preview",
        },
        url=lambda policy: reverse("admin:policies_governancepolicy_preview", args=[policy.pk]),
    ),
    ("approvals.approvalrequest", "approve_low_risk"): Scenario(
        _approval,
        _status_of(ApprovalStatus.APPROVED),
        lambda approval: {f"hash_{approval.pk}": approval.payload_hash},
    ),
    ("approvals.approvalrequest", "decide"): Scenario(
        _approval,
        _status_of(ApprovalStatus.APPROVED),
        lambda approval: {
            "verdict": "approve",
            "payload_hash_seen": approval.payload_hash,
            "confirmed": "yes",  # the confirmation page's answer (it asks the role too)
        },
        url=lambda approval: reverse("admin:approvals_approvalrequest_decide", args=[approval.pk]),
    ),
    ("ledger.externalaction", "action_record_succeeded"): Scenario(
        lambda p: make_action(p, ActionStatus.NEEDS_RECONCILIATION),
        _status_of(ActionStatus.SUCCEEDED),
    ),
    ("ledger.externalaction", "action_record_failed"): Scenario(
        lambda p: make_action(p, ActionStatus.NEEDS_RECONCILIATION),
        _status_of(ActionStatus.FAILED),
    ),
    ("ledger.externalaction", "action_authorise_retry"): Scenario(
        lambda p: make_action(p, ActionStatus.NEEDS_RECONCILIATION),
        _status_of(ActionStatus.APPROVED),
    ),
    ("ledger.externalaction", "action_release"): Scenario(
        lambda p: make_action(p, ActionStatus.HELD), _status_of(ActionStatus.APPROVED)
    ),
    ("ledger.externalaction", "action_cancel"): Scenario(
        lambda p: make_action(p, ActionStatus.HELD), _status_of(ActionStatus.CANCELLED)
    ),
    ("ledger.providercredential", "delete_selected"): Scenario(
        make_credential, lambda credential: _fresh(credential) is None, lambda c: {"post": "yes"}
    ),
    ("artifacts.retentionoverride", "delete_selected"): Scenario(
        lambda p: RetentionOverride.objects.get_or_create(
            project=p, artifact_class="screenshot", defaults={"days": 3}
        )[0],
        lambda override: _fresh(override) is None,
        lambda o: {"post": "yes"},
    ),
    ("publishing.policysource", "action_add_presets"): Scenario(
        _etsy_source,
        lambda source: PolicySource.objects.filter(
            project=source.project, provider="etsy", name="Creativity standards"
        ).exists(),
    ),
    ("publishing.policychange", "action_acknowledge"): Scenario(
        make_policy_change, _status_of("acknowledged")
    ),
    ("publishing.publishtermlist", "delete_selected"): Scenario(
        lambda p: PublishTermList.objects.create(project=p, kind="banned", terms="x"),
        lambda terms: _fresh(terms) is None,
        lambda terms: {"post": "yes"},
    ),
    ("publishing.emergencyswitch", "action_engage"): Scenario(
        _switch_in("released"), _status_of("engaged")
    ),
    ("publishing.emergencyswitch", "action_release"): Scenario(
        _switch_in("engaged"), _status_of("released")
    ),
}


def perform(scenario: Scenario, model, client: Client, name: str, obj) -> None:
    if scenario.url is not None:
        response = client.post(scenario.url(obj), scenario.extra(obj))
        assert response.status_code in (200, 302, 403, 404)
        return
    selected = obj.pk
    if model is ProjectMembership:  # the scenario's row is a user: select their membership
        selected = ProjectMembership.objects.get(user=obj).pk
    form = {
        "action": name,
        "_selected_action": [selected],
        "confirmed": "yes",
        "reason": "matrix",
        **scenario.extra(obj),
    }
    response = client.post(admin_url(model, "changelist"), form)
    assert response.status_code in (200, 302, 403)
