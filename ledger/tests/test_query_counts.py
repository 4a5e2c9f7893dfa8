"""The hot path stays cheap: a bounded number of SQL statements per proposal and per replay."""

import pytest
from django.db import connection

from ledger.tests.conftest import order, propose

# outside a test transaction, as under the API: no savepoints to count
pytestmark = pytest.mark.django_db(transaction=True)


def test_allowed_proposal_and_replay_are_bounded(
    actor, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    propose(actor, "warm", "alpaca", "orders.create", order(qty="3"))  # compile the policy
    # the agent key and its request budget (one UPDATE); the stored answer under the
    # idempotency key; the policy stamp; the emergency switches (publishing's guard: one indexed
    # SELECT, never cached, so engaging one counts at once); then one transaction (BEGIN ...
    # COMMIT, with SET LOCAL lock_timeout on PostgreSQL): the action, its event, the decision
    # log, the queued task and the answer
    bound = 13 if connection.vendor == "postgresql" else 12
    with django_assert_max_num_queries(bound), django_capture_on_commit_callbacks(execute=True):
        assert propose(actor, "k", "alpaca", "orders.create", order()).status_code == 201
    with django_assert_max_num_queries(3):  # key, budget, stored answer
        assert propose(actor, "k", "alpaca", "orders.create", order()).status_code == 200
