"""From an operator's approval to the provider call, each row is locked once per step: the
decision locks the request; the ledger, told after commit, locks the action; the worker claims
by compare-and-set, consumes the approval under one lock and records the outcome under one."""

import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.services import approval_decide
from ledger.models import ActionStatus, ExternalAction
from ledger.services import action_execute
from ledger.tests.conftest import product, propose

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

_LOCKED_TABLE = re.compile(r'FROM "(\w+)".*FOR UPDATE', re.S)


def locks(queries) -> Counter:
    return Counter(
        match.group(1)
        for query in queries
        if (match := _LOCKED_TABLE.search(query["sql"])) is not None
    )


def test_each_row_is_locked_once_per_step(actor, approver, fake_provider):
    body = propose(actor, "lock-1", "shopify", "products.create", product()).json()
    action = ExternalAction.objects.get(pk=body["id"])
    assert action.status == ActionStatus.PENDING_APPROVAL

    with CaptureQueriesContext(connection) as decide:
        approval_decide(
            request_id=action.approval_id,
            user=approver,
            approve=True,
            payload_hash_seen=action.payload_hash,
        )  # commits; the ledger's consumer runs after the commit
    assert locks(decide.captured_queries) == {
        "approvals_approvalrequest": 1,  # the decision
        "ledger_externalaction": 1,  # the consumer moving the action to approved
    }
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED

    with CaptureQueriesContext(connection) as execute:
        assert action_execute(action.pk) == ActionStatus.SUCCEEDED
    assert locks(execute.captured_queries) == {
        "approvals_approvalrequest": 1,  # consumed, checked in the same locked step
        "ledger_externalaction": 1,  # the outcome (the claim is a compare-and-set)
    }
