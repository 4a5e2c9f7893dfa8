import json
import logging

import pytest

from autopack_site.logging import JSONFormatter, RequestIDFilter
from autopack_site.tests.test_auth import assert_error

pytestmark = pytest.mark.django_db


def test_request_id_is_echoed_when_given(agent):
    response = agent.get("/api/v1/me", HTTP_X_REQUEST_ID="trace-123")
    assert response["X-Request-ID"] == "trace-123"


def test_request_id_is_made_when_missing_or_unsafe(agent):
    made = agent.get("/api/v1/me")
    assert len(made["X-Request-ID"]) == 32
    unsafe = agent.get("/api/v1/me", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert unsafe["X-Request-ID"] != "bad id\nwith newline"
    assert len(unsafe["X-Request-ID"]) == 32


def test_oversized_body_is_413_and_creates_nothing(agent, settings):
    settings.AUTOPACK_MAX_BODY_BYTES = 1000
    body = {"family": "f", "run_id": "r", "phases": [{"key": "a"}], "config": {"x": "y" * 2000}}
    response = agent.post("/api/v1/runs", body, format="json")
    error = assert_error(response, 413, "request_too_large")
    assert error["details"]["limit_bytes"] == 1000
    assert agent.get("/api/v1/runs").json()["results"] == []


def test_overlong_query_string_is_414_in_the_error_shape(agent, settings):
    settings.AUTOPACK_MAX_QUERY_BYTES = 100
    response = agent.get("/api/v1/approvals?" + "&".join(f"before={n}" for n in range(40)))
    error = assert_error(response, 414, "uri_too_long")
    assert error["details"]["limit_bytes"] == 100
    assert agent.get("/api/v1/approvals?status=pending").status_code == 200


def test_malformed_json_is_400(agent):
    response = agent.post("/api/v1/runs", "{not json", content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_validation_errors_name_field_paths(agent):
    response = agent.post(
        "/api/v1/runs",
        {"family": "f", "run_id": "r", "phases": [{"key": "ok"}, {"key": 7}], "extra": 1},
        format="json",
    )
    error = assert_error(response, 422, "validation_error")
    paths = {field["path"] for field in error["details"]["fields"]}
    assert "phases.1.key" in paths
    assert "extra" in paths


def test_unknown_api_path_is_json_404(agent):
    assert_error(agent.get("/api/v1/nothing-here"), 404, "not_found")


def test_log_lines_are_json_with_the_request_id(agent, caplog):
    logger = logging.getLogger("autopack.test")
    formatter, request_filter = JSONFormatter(), RequestIDFilter()
    records = []

    class Capture(logging.Handler):
        def emit(self, record):
            request_filter.filter(record)
            records.append(formatter.format(record))

    handler = Capture()
    logging.getLogger("django.request").addHandler(handler)
    logger.addHandler(handler)
    try:
        agent.get("/api/v1/runs/999999", HTTP_X_REQUEST_ID="req-for-logs")
        logger.info("outside any request")
    finally:
        logging.getLogger("django.request").removeHandler(handler)
        logger.removeHandler(handler)
    parsed = [json.loads(line) for line in records]
    assert any(entry["request_id"] == "req-for-logs" for entry in parsed), parsed
    assert parsed[-1]["request_id"] == "-"


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_api_paths_are_json_in_every_mode(agent, settings, debug):
    settings.DEBUG = debug
    assert_error(agent.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(agent.post("/api/v1/nothing-here", {}, format="json"), 404, "not_found")
    assert_error(agent.get("/api/nothing"), 404, "not_found")
    assert_error(agent.get("/api/v1/runs/null,null"), 404, "not_found")
    assert_error(agent.put("/api/v1/runs", {}, format="json"), 405, "method_not_allowed")
