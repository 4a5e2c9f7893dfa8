"""django-q2 entry points for trading: thin, idempotent."""

from trading import services


def decisions_expire() -> int:
    return services.decisions_expire()
