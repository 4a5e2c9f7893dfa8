import re
from datetime import timedelta

import pytest
from django.utils import timezone

from autopack_site import __version__
from autopack_site.models import WorkerHeartbeat
from autopack_site.tasks import worker_heartbeat

pytestmark = pytest.mark.django_db


def test_health_without_a_worker_is_degraded_but_up(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["status"] == "ok"
    assert body["worker"]["status"] == "missing"
    assert body["version"] == __version__


def test_health_reports_worker_heartbeat_age(client):
    worker_heartbeat()
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["worker"]["age_seconds"] < 5


def test_stale_heartbeat_is_reported(client, settings):
    WorkerHeartbeat.objects.create(name="default", beat_at=timezone.now() - timedelta(hours=1))
    body = client.get("/api/v1/health").json()
    assert body["worker"]["status"] == "stale"
    assert body["worker"]["age_seconds"] >= 3600


def test_health_is_503_when_the_database_is_down(client, monkeypatch):
    from autopack_site.api import views

    def broken_cursor(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(views.connection, "cursor", broken_cursor)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["database"]["status"] == "down"


def test_openapi_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/v1/runs",
        "/api/v1/runs/{run_pk}/claim",
        "/api/v1/attempts/{attempt_pk}/complete",
    ]:
        assert path in schema["paths"], path


def test_swagger_ui_uses_no_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
