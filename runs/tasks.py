"""django-q2 entry points for runs."""

from runs.services import leases_expire


def sweep_expired_leases() -> int:
    return leases_expire()
