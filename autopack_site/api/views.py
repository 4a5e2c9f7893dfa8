"""Health and identity endpoints."""

import os
import socket
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from drf_spectacular.utils import OpenApiResponse, extend_schema
from pydantic import BaseModel
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from autopack_site import __version__
from autopack_site.api.base import ProjectScopedAPIView
from autopack_site.api.openapi import ERROR_RESPONSES
from autopack_site.models import WorkerHeartbeat
from autopack_site.outbox import outbox_depth


class ComponentHealth(BaseModel):
    status: str
    detail: str = ""


class WorkerHealth(BaseModel):
    status: str
    last_beat_at: datetime | None
    age_seconds: float | None
    stale_after_seconds: int


class BrokerHealth(BaseModel):
    name: str  # orm | redis
    status: str  # ok | down | unknown
    queue_depth: int | None  # tasks waiting at the broker
    outbox_unsent: int | None  # committed tasks the relay has not handed over yet
    outbox_undelivered: int | None  # handed over or not, not run yet


class HealthOut(BaseModel):
    status: str
    version: str
    database: ComponentHealth
    worker: WorkerHealth
    broker: BrokerHealth


class MeOut(BaseModel):
    project: str
    key_name: str
    key_prefix: str
    scopes: list[str]


def _database_health() -> ComponentHealth:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return ComponentHealth(status="down", detail=type(exc).__name__)
    return ComponentHealth(status="ok", detail=connection.vendor)


def _worker_health() -> WorkerHealth:
    stale_after = settings.AUTOPACK_WORKER_STALE_SECONDS
    beat = WorkerHeartbeat.objects.order_by("-beat_at").first()
    if beat is None:
        return WorkerHealth(
            status="missing", last_beat_at=None, age_seconds=None, stale_after_seconds=stale_after
        )
    age = (timezone.now() - beat.beat_at).total_seconds()
    return WorkerHealth(
        status="ok" if age <= stale_after else "stale",
        last_beat_at=beat.beat_at,
        age_seconds=round(age, 1),
        stale_after_seconds=stale_after,
    )


def _broker_health(database_ok: bool) -> BrokerHealth:
    name = "redis" if settings.Q_REDIS_URL else "orm"
    depth = unsent = undelivered = None
    status = "unknown"
    if database_ok:
        outbox = outbox_depth()
        unsent, undelivered = outbox["unsent"], outbox["undelivered"]
        try:
            depth = get_broker().queue_size()
            status = "ok"
        except Exception:  # a broker that does not answer is what health is for
            status = "down"
    return BrokerHealth(
        name=name,
        status=status,
        queue_depth=depth,
        outbox_unsent=unsent,
        outbox_undelivered=undelivered,
    )


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health",
        responses={
            200: HealthOut,
            503: OpenApiResponse(HealthOut, description="The database is unreachable."),
        },
    )
    def get(self, request):
        database = _database_health()
        if database.status == "ok":
            worker = _worker_health()
        else:
            worker = WorkerHealth(
                status="unknown",
                last_beat_at=None,
                age_seconds=None,
                stale_after_seconds=settings.AUTOPACK_WORKER_STALE_SECONDS,
            )
        if database.status != "ok":
            overall = "down"
        elif worker.status != "ok":
            overall = "degraded"
        else:
            overall = "ok"
        broker = _broker_health(database.status == "ok")
        if overall == "ok" and broker.status != "ok":
            overall = "degraded"
        body = HealthOut(
            status=overall, version=__version__, database=database, worker=worker, broker=broker
        )
        return Response(body.model_dump(mode="json"), status=503 if overall == "down" else 200)


class MeView(ProjectScopedAPIView):
    read_scopes = ("read", "runs:write", "actions:write", "trading:write")

    @extend_schema(operation_id="me", responses={200: MeOut, **ERROR_RESPONSES})
    def get(self, request):
        key = self.agent_key
        body = MeOut(
            project=self.project.slug, key_name=key.name, key_prefix=key.prefix, scopes=key.scopes
        )
        return Response(body.model_dump())


def worker_identity() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()
