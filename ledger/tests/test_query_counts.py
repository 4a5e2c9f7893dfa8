"""The hot path stays cheap: a bounded number of SQL statements per proposal and per replay."""

import pytest

from ledger.tests.conftest import order, propose

pytestmark = pytest.mark.django_db


def test_allowed_proposal_and_replay_are_bounded(
    actor, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    propose(actor, "warm", "alpaca", "orders.create", order(qty="3"))  # compile the policy
    # key, replay lookup, policy stamp; then one transaction: lock_timeout (PostgreSQL), the
    # action, the decision log, the decided status with its answer, its event, the queued task
    with django_assert_max_num_queries(11), django_capture_on_commit_callbacks(execute=True):
        assert propose(actor, "k", "alpaca", "orders.create", order()).status_code == 201
    with django_assert_max_num_queries(2):
        assert propose(actor, "k", "alpaca", "orders.create", order()).status_code == 200
