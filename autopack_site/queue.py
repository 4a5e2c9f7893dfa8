"""Which django-q2 broker is in use (the ORM broker's queue rows commit with the state that
needs them; another broker hears of a task only after commit)."""

from django.conf import settings


def orm_broker_in_use() -> bool:
    return "orm" in settings.Q_CLUSTER
