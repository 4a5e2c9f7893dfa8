"""Live trading is effective only with LIVE_TRADING_ENABLED exactly "1", a valid live_trading
approval and the account's current strategy version approved; otherwise the check denies with
LIVE_NOT_AUTHORIZED and never turns live into paper."""

import itertools

import pytest

from approvals.services import approval_decide
from autopack_site.models import Role
from tests.factories import make_member
from trading.models import Mode
from trading.services import strategy_version_create
from trading.services.accounts import live_trading_request
from trading.tests.conftest import check, make_account

pytestmark = pytest.mark.django_db


def approve(request, project):
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):  # the consumer hears after commit
        approval_decide(
            request_id=request.pk,
            user=make_member(project, Role.OPERATOR),
            approve=True,
            payload_hash_seen=request.payload_hash,
        )


@pytest.mark.parametrize(
    ("env", "approved", "strategy"),
    list(itertools.product(["1", "true", None], [True, False], [True, False])),
)
def test_live_authorisation_matrix(trader, project, monkeypatch, env, approved, strategy):
    from decimal import Decimal

    from trading.services import account_equity_report

    if env is None:
        monkeypatch.delenv("LIVE_TRADING_ENABLED", raising=False)
    else:
        monkeypatch.setenv("LIVE_TRADING_ENABLED", env)
    account = make_account(project, mode=Mode.LIVE)
    account_equity_report(account=account, equity=Decimal("10000"), actor="t")
    supervisor = make_member(project, Role.TRADING_SUPERVISOR)
    if approved:
        approve(live_trading_request(account=account, user=supervisor, reason="go"), project)
    version, _ = strategy_version_create(
        account=account, version="s1", content={"k": 1}, key=None, actor="agent:bot"
    )
    if strategy:
        from approvals.models import ApprovalRequest

        approve(ApprovalRequest.objects.get(pk=version.approval_id), project)
    account.refresh_from_db()
    body = check(trader, account).json()
    codes = {reason["code"] for reason in body["reasons"]}
    if env == "1" and approved and strategy:
        assert body["allowed"] is True and body["effective_mode"] == "live", body["reasons"]
    else:
        assert body["allowed"] is False and "LIVE_NOT_AUTHORIZED" in codes
        assert body["effective_mode"] != "paper"
        assert ("STRATEGY_NOT_APPROVED" in codes) == (not strategy)
