"""django-q2 tasks as rows, for writing in the same statement as the state that needs them."""

from django.conf import settings
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.tasks import async_task


def orm_broker_in_use() -> bool:
    return "orm" in settings.Q_CLUSTER


class _Capture:
    """Stands in for the broker: django-q builds and signs the package, we keep it."""

    def __init__(self, list_key: str):
        self.list_key = list_key
        self.package: str | None = None

    def enqueue(self, package: str) -> None:
        self.package = package


def queued_task_row(func: str, *args) -> OrmQ:
    """The ORM broker's queue row for ``func(*args)``, unsaved: exactly what ``async_task`` would
    insert (signed package, list key, lock = now). Only with the ORM broker."""
    assert orm_broker_in_use(), "queue rows exist only with the ORM broker"
    capture = _Capture(Conf.CLUSTER_NAME)  # what get_broker() would use, without its side trips
    async_task(func, *args, broker=capture)
    return OrmQ(key=capture.list_key, payload=capture.package, lock=timezone.now())
