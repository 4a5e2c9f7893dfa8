"""The hot path stays cheap: a bounded number of SQL statements per proposal and per replay."""

import pytest

from ledger.tests.conftest import order, propose

pytestmark = pytest.mark.django_db


def test_allowed_proposal_and_replay_are_bounded(
    actor, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    propose(actor, "warm", "alpaca", "orders.create", order(qty="3"))  # compile the policy
    with django_assert_max_num_queries(13), django_capture_on_commit_callbacks(execute=True):
        assert propose(actor, "k", "alpaca", "orders.create", order()).status_code == 201
    with django_assert_max_num_queries(2):
        assert propose(actor, "k", "alpaca", "orders.create", order()).status_code == 200
