"""Recurring django-q2 tasks, created idempotently by name after every migrate."""

from django_q.models import Schedule

SCHEDULES = [
    # (name, function, minutes between runs)
    ("worker-heartbeat", "autopack_site.tasks.worker_heartbeat", 1),
    ("outbox-relay", "autopack_site.tasks.outbox_relay", 1),
    ("runs-sweep-expired-leases", "runs.tasks.sweep_expired_leases", 1),
    ("approvals-expire", "approvals.tasks.approvals_expire_due", 1),
    ("approvals-redeliver-lost", "approvals.tasks.approvals_redeliver", 1),
    ("approvals-notifications-retry", "approvals.tasks.notifications_retry_due", 1),
    ("ledger-dispatch-due", "ledger.tasks.actions_dispatch_due", 1),
    ("ledger-release-guarded", "ledger.tasks.actions_release_guarded", 1),
    ("artifacts-retention", "artifacts.tasks.artifacts_sweep_expired", 60),
    ("publishing-policy-fetch", "publishing.tasks.policy_sources_fetch_due", 15),
    ("trading-expire-reservations", "trading.tasks.decisions_expire", 1),
    ("trading-reconcile", "trading.tasks.accounts_reconcile", 1),
]


def ensure_schedules(**_kwargs) -> None:
    for name, func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )
