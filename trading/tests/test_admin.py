"""The account page for people: limits edited under rule 5 (tightening applies at once,
loosening waits for a limit_change approval someone else decides), a reconciliation run from
the admin, and the supervisors' list across accounts."""

from decimal import Decimal

import pytest
from django.urls import reverse

from approvals.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from autopack_site.models import Role
from ledger.tests.conftest import fake_provider, ledger_project  # noqa: F401  (fixtures)
from tests.factories import make_project, make_staff
from trading.models import LIMIT_FIELDS, AccountStatus, Broker, RiskEvent, TradingAccount
from trading.tests.conftest import make_account
from trading.tests.test_live import approve

pytestmark = pytest.mark.django_db


def limits_form(account, **changes) -> dict:
    form = {name: str(getattr(account, name)) for name in LIMIT_FIELDS}
    form["allowed_symbols"] = ", ".join(account.allowed_symbols)
    form["reason"] = "review"
    form.update({name: str(value) for name, value in changes.items()})
    return form


def limits_url(account) -> str:
    return reverse("admin:trading_tradingaccount_limits", args=[account.pk])


def test_a_policy_editor_tightens_at_once_and_a_loosening_waits_for_approval(client, project):
    account = make_account(project, max_orders_per_day=10, max_order_value=Decimal("500"))
    editor = make_staff(project, Role.POLICY_EDITOR)
    client.force_login(editor)
    page = client.get(reverse("admin:trading_tradingaccount_change", args=[account.pk]))
    assert limits_url(account).encode() in page.content

    response = client.post(
        limits_url(account), limits_form(account, max_orders_per_day=3, max_order_value=900)
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.max_orders_per_day == 3  # tighter: applied
    assert account.max_order_value == Decimal("500")  # looser: waits
    event = RiskEvent.objects.filter(account=account, kind=RiskEvent.Kind.LIMITS).get()
    assert event.detail["changed"] == ["max_orders_per_day"] and event.actor
    request = ApprovalRequest.objects.get(kind=ApprovalKind.LIMIT_CHANGE)
    assert request.target_id == account.pk and request.status == ApprovalStatus.PENDING
    assert request.payload["limits"] == {"max_order_value": "900"}

    approve(request, project)  # an operator, not the editor
    account.refresh_from_db()
    assert account.max_order_value == Decimal("900")


def test_the_limits_page_asks_the_role_of_the_accounts_project(client, project):
    account = make_account(project)
    elsewhere = make_account(make_project("elsewhere"))
    operator = make_staff(project, Role.OPERATOR)
    supervisor = make_staff(project, Role.TRADING_SUPERVISOR)
    client.force_login(operator)
    assert client.get(limits_url(account)).status_code == 403
    assert (
        client.post(limits_url(account), limits_form(account, max_orders_per_day=1)).status_code
        == 403
    )
    client.force_login(supervisor)
    assert client.get(limits_url(elsewhere)).status_code == 404
    assert client.get(limits_url(account)).status_code == 200
    client.post(limits_url(account), limits_form(account, max_orders_per_day=1))
    assert TradingAccount.objects.get(pk=account.pk).max_orders_per_day == 1


def test_a_supervisor_reconciles_from_the_admin(client, ledger_project, fake_provider):  # noqa: F811
    account = make_account(ledger_project, broker=Broker.ALPACA)
    fake_provider.alpaca_outside_order(symbol="TSLA", qty="2")
    supervisor = make_staff(ledger_project, Role.TRADING_SUPERVISOR)
    client.force_login(supervisor)
    changelist = reverse("admin:trading_tradingaccount_changelist")
    form = {"action": "action_reconcile", "_selected_action": [account.pk]}
    confirm = client.post(changelist, form)
    assert b"Yes, reconcile" in confirm.content  # a confirmation page first
    client.post(changelist, {**form, "confirmed": "yes", "reason": ""})
    account.refresh_from_db()
    assert account.status == AccountStatus.HALTED and account.reconciled_at is not None
    page = client.get(reverse("admin:trading_tradingaccount_change", args=[account.pk]))
    assert b"TSLA" in page.content and b"UNKNOWN_BROKER_ORDER" in page.content


def test_the_supervisors_list_spans_their_projects_only(client, project):
    other = make_project("second")
    third = make_project("third")
    make_account(project, name="alpha")
    make_account(other, name="beta")
    make_account(third, name="gamma")
    supervisor = make_staff(project, Role.TRADING_SUPERVISOR)
    from autopack_site.services import membership_grant

    membership_grant(project=other, user=supervisor, role=Role.TRADING_SUPERVISOR, acting_user=None)
    client.force_login(supervisor)
    listing = client.get(reverse("admin:trading_tradingaccount_changelist")).content.decode()
    assert "alpha" in listing and "beta" in listing and "gamma" not in listing
    assert "<svg" in listing  # today's counters against limits
