"""A hostile reviewer's attempts (issue 12): each is what a user depends on not happening."""

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse
from django.utils import timezone

from artifacts.models import Artifact, Handoff
from artifacts.tests.test_artifacts import CANARY_EMAIL, CANARY_IP, CANARY_TOKEN, upload
from conftest import agent_client
from tests.factories import make_key, make_project, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(project):
    return make_run(project)


def stored_plain(root, settings, artifact_id: int) -> bytes:
    artifact = Artifact.objects.get(pk=artifact_id)
    data = (root / artifact.storage_path).read_bytes()
    if artifact.encrypted:
        data = Fernet(settings.AUTOPACK_ARTIFACT_KEYS[0]).decrypt(data)
    return data


@pytest.mark.parametrize(
    "name",
    [
        "../escape.txt",
        "logs/../../escape.txt",
        "..\\escape.txt",
        "logs\\..\\..\\escape.txt",
        "/etc/passwd",
        "C:\\Windows\\win.ini",
        "C:/x.txt",
        "%2e%2e/escape.txt",
        "%2e%2e%2fescape.txt",
        "logs/x\x00.txt",
        "\u2024\u2024/escape.txt",  # one-dot leaders
        "\uff0e\uff0e/escape.txt",  # fullwidth full stops
        "logs/./x.txt",
        ".hidden",
        "a/" * 6 + "x.txt",
        "x" * 101,
        "logs/x.txt\n",
    ],
)
def test_names_outside_the_run_are_refused_and_store_nothing(agent, run, artifact_root, name):
    response = upload(agent, run, name, b"hello\n", "run_log")
    assert response.status_code in (400, 422), (name, response.content)
    assert set(response.json()) == {"error"}
    assert not Artifact.objects.exists()
    assert not artifact_root.exists() or not any(p.is_file() for p in artifact_root.rglob("*"))


def test_wrong_and_missing_sha256(agent, run):
    data = b"hello\n"
    wrong = upload(agent, run, "a.txt", data, "run_log", sha=hashlib.sha256(b"x").hexdigest())
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "sha256_mismatch"
    response = agent.post(
        reverse("api:run-artifacts", args=[run.pk]),
        {"file": _file(data), "artifact_class": "run_log", "name": "b.txt"},
        format="multipart",
    )
    assert response.status_code in (400, 422) and "error" in response.json()
    assert not Artifact.objects.exists()


def _file(data: bytes, content_type="text/plain"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("f.txt", data, content_type)


def test_size_limit_exactly_at_and_one_over(agent, run, settings):
    settings.AUTOPACK_ARTIFACT_MAX_BYTES = 64
    assert upload(agent, run, "at.bin", b"a" * 64, "run_log").status_code == 201
    over = upload(agent, run, "over.bin", b"a" * 65, "run_log")
    assert over.status_code == 413 and over.json()["error"]["code"] == "artifact_too_large"
    assert list(Artifact.objects.values_list("name", flat=True)) == ["at.bin"]


def test_credential_artifact_and_encrypted_class_without_key_are_refused(agent, run, settings):
    refused = upload(agent, run, "creds.txt", b"user=a\n", "credential_artifact")
    assert refused.json()["error"]["code"] == "artifact_class_refused"
    settings.AUTOPACK_ARTIFACT_KEYS = []
    nokey = upload(agent, run, "s.har", json.dumps({"log": {}}).encode(), "har_log")
    assert nokey.status_code == 422
    assert nokey.json()["error"]["code"] == "encryption_not_configured"
    assert not Artifact.objects.exists()


def test_a_content_type_lie_does_not_skip_redaction(agent, run, artifact_root, settings):
    """Text that calls itself an image is still text: its secrets are masked."""
    data = f"token {CANARY_TOKEN} from {CANARY_IP}\n".encode()
    response = upload(agent, run, "shot.png", data, "run_log", content_type="image/png")
    assert response.status_code == 201, response.content
    stored = stored_plain(artifact_root, settings, response.json()["id"])
    assert CANARY_TOKEN.encode() not in stored and CANARY_IP.encode() not in stored


def _har(entry: dict) -> bytes:
    return json.dumps({"log": {"version": "1.2", "entries": [entry]}}).encode()


def test_har_base64_response_content_is_redacted(agent, run, artifact_root, settings):
    body = json.dumps({"token_hint": f"use {CANARY_TOKEN}", "mail": CANARY_EMAIL}).encode()
    entry = {
        "request": {"method": "GET", "url": "https://shop.example/", "headers": []},
        "response": {
            "status": 200,
            "headers": [],
            "content": {
                "mimeType": "application/json",
                "encoding": "base64",
                "text": base64.b64encode(body).decode(),
            },
        },
    }
    response = upload(agent, run, "net/b64.har", _har(entry), "har_log")
    assert response.status_code == 201, response.content
    stored = json.loads(stored_plain(artifact_root, settings, response.json()["id"]))
    content = stored["log"]["entries"][0]["response"]["content"]
    decoded = base64.b64decode(content["text"])
    assert CANARY_TOKEN.encode() not in decoded and CANARY_EMAIL.encode() not in decoded
    assert json.loads(decoded)["mail"] == "[redacted]"  # still base64 of valid JSON


def test_har_url_encoded_email_in_query_is_redacted(agent, run, artifact_root, settings):
    encoded = CANARY_EMAIL.replace("@", "%40")
    entry = {
        "request": {
            "method": "GET",
            "url": f"https://shop.example/find?email={encoded}&page=2",
            "queryString": [{"name": "email", "value": encoded}],
            "postData": {
                "mimeType": "application/x-www-form-urlencoded",
                "text": f"email={encoded}&page=2",
            },
        },
        "response": {"status": 200, "headers": [], "content": {"text": ""}},
    }
    response = upload(agent, run, "net/q.har", _har(entry), "har_log")
    assert response.status_code == 201, response.content
    stored = stored_plain(artifact_root, settings, response.json()["id"])
    assert encoded.encode() not in stored and b"canary.person" not in stored


def test_secrets_in_json_keys_are_redacted(agent, run, artifact_root, settings):
    document = {"by_email": {CANARY_EMAIL: {"ip": {CANARY_IP: 3}}}, CANARY_TOKEN: "x"}
    response = upload(agent, run, "keys.json", json.dumps(document).encode(), "api_response")
    assert response.status_code == 201, response.content
    stored = stored_plain(artifact_root, settings, response.json()["id"])
    for canary in (CANARY_EMAIL, CANARY_IP, CANARY_TOKEN):
        assert canary.encode() not in stored, canary
    assert response.json()["redaction_count"] >= 3


def test_secret_split_across_lines_in_text_is_redacted(agent, run, artifact_root, settings):
    data = b"config dump\npassword:\n    hunter2-canary\napi_key =\n\tsk-live-abc\n"
    response = upload(agent, run, "dump.txt", data, "debug_log")
    assert response.status_code == 201, response.content
    stored = stored_plain(artifact_root, settings, response.json()["id"])
    assert b"hunter2-canary" not in stored and b"sk-live-abc" not in stored


def test_other_projects_artifact_is_404_and_expired_is_not_served(agent, run):
    response = upload(agent, run, "a.txt", b"hello\n", "run_log")
    url = response.json()["download_url"]
    other = make_project(slug="other-proj")
    stranger = agent_client(make_key(other))
    missing = stranger.get(url)
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    Artifact.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = agent.get(url)  # the retention sweep has not run yet
    assert expired.status_code == 409, expired.status_code
    assert expired.json()["error"]["code"] == "artifact_expired"


@pytest.fixture
def subagent(project):
    return agent_client(make_key(project, scopes=["handoff:write"]))


def _brief(agent, run, kind="research"):
    response = agent.post(
        reverse("api:run-handoff-briefs", args=[run.pk]), {"kind": kind}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


GOOD = {"summary": "s", "findings": "f", "sources": "none"}


@pytest.mark.parametrize(
    "reference",
    [
        "./x/../../y",
        "logs/../../etc/passwd",
        "/etc/passwd",
        "C:\\Users\\x.txt",
        "C:/Users/x.txt",
        "%2e%2e/%2e%2e/etc/passwd",
        "..%2f..%2fetc",
        "logs\\..\\x",
        "file:///etc/passwd",
        "\\\\server\\share\\x",
        "logs/x\x00",
    ],
)
def test_handoff_file_references_outside_the_run_are_refused(agent, subagent, run, reference):
    handoff_id = _brief(agent, run)
    response = subagent.post(
        reverse("api:run-handoffs", args=[run.pk]),
        {
            "handoff_id": handoff_id,
            "sections": GOOD,
            "confidence": 0.5,
            "file_references": [reference],
        },
        format="json",
    )
    assert response.status_code in (400, 422), response.content
    assert Handoff.objects.get(pk=handoff_id).status == "briefed"


def test_handoff_key_reaches_nothing_else(agent, subagent, run, project):
    data = b"x\n"
    assert upload(subagent, run, "a.txt", data, "run_log").status_code == 403
    assert subagent.get(reverse("api:run-artifacts", args=[run.pk])).status_code == 403
    brief = subagent.post(
        reverse("api:run-handoff-briefs", args=[run.pk]), {"kind": "research"}, format="json"
    )
    assert brief.status_code == 403
    other = make_project(slug="other-proj2")
    other_run = make_run(other)
    ctx = subagent.get(reverse("api:run-handoff-context", args=[other_run.pk]))
    assert ctx.status_code == 404


@pytest.mark.parametrize(
    "body",
    [b"{", b"[]", b'"x"', b"null", b'{"handoff_id": "1"}', b"\xff\xfe", b'{"a":' * 300 + b"1"],
)
def test_bad_json_bodies_are_4xx_in_one_shape(agent, subagent, run, body):
    handoff_id = _brief(agent, run)
    for url in (
        reverse("api:run-handoffs", args=[run.pk]),
        reverse("api:run-handoff-briefs", args=[run.pk]),
    ):
        client = subagent if url.endswith("handoffs") else agent
        response = client.generic("POST", url, body, content_type="application/json")
        assert 400 <= response.status_code < 500, (url, body, response.status_code)
        assert set(response.json()) == {"error"}
    assert Handoff.objects.get(pk=handoff_id).status == "briefed"
    assert Handoff.objects.count() == 1


def test_secret_in_handoff_output_is_refused(agent, subagent, run):
    handoff_id = _brief(agent, run)
    sections = {**GOOD, "findings": f"the key is {CANARY_TOKEN}"}
    response = subagent.post(
        reverse("api:run-handoffs", args=[run.pk]),
        {"handoff_id": handoff_id, "sections": sections, "confidence": 0.5},
        format="json",
    )
    assert response.status_code == 422
    assert CANARY_TOKEN not in response.content.decode()
    assert Handoff.objects.get(pk=handoff_id).status == "briefed"


@pytest.mark.parametrize("depth", [900, 5000, 100_000])
@pytest.mark.parametrize("name,artifact_class", [("deep.json", "run_log"), ("deep.har", "har_log")])
def test_deeply_nested_json_is_a_4xx_or_stored_never_a_500(
    agent, run, artifact_root, settings, depth, name, artifact_class
):
    data = (b'{"a":' * depth) + b'"' + CANARY_TOKEN.encode() + b'"' + (b"}" * depth)
    response = upload(agent, run, name, data, artifact_class)
    assert response.status_code in (201, 422), response.status_code
    assert set(response.json()) >= ({"error"} if response.status_code == 422 else {"id"})
    if response.status_code == 201:
        stored = stored_plain(artifact_root, settings, response.json()["id"])
        assert CANARY_TOKEN.encode() not in stored
    else:
        assert not Artifact.objects.exists()


def test_a_deep_json_string_inside_a_document_is_scrubbed_as_text(
    agent, run, artifact_root, settings
):
    inner = "[" * 5000 + json.dumps(CANARY_TOKEN) + "]" * 5000
    document = {"body": inner, "mail": CANARY_EMAIL}
    response = upload(agent, run, "resp.json", json.dumps(document).encode(), "api_response")
    assert response.status_code == 201, response.content
    stored = stored_plain(artifact_root, settings, response.json()["id"])
    assert CANARY_TOKEN.encode() not in stored and CANARY_EMAIL.encode() not in stored


def test_an_accepted_answer_holding_deep_json_does_not_break_the_context(agent, subagent, run):
    handoff_id = _brief(agent, run)
    sections = {**GOOD, "findings": "[" * 3000 + "1" + "]" * 3000}
    response = subagent.post(
        reverse("api:run-handoffs", args=[run.pk]),
        {"handoff_id": handoff_id, "sections": sections, "confidence": 0.5},
        format="json",
    )
    assert response.status_code == 200, response.content
    context = subagent.get(reverse("api:run-handoff-context", args=[run.pk]))
    assert context.status_code == 200
    assert _brief(agent, run, kind="analysis")


def test_oversize_answers_are_refused_and_change_nothing(agent, subagent, run):
    handoff_id = _brief(agent, run)
    url = reverse("api:run-handoffs", args=[run.pk])
    too_long = {**GOOD, "findings": "x" * 20_001}
    response = subagent.post(
        url, {"handoff_id": handoff_id, "sections": too_long, "confidence": 0.5}, format="json"
    )
    assert response.status_code == 422
    assert "too_long" in [p["code"] for p in response.json()["error"]["details"]["problems"]]
    many = {f"s{i}": "x" for i in range(21)} | GOOD
    response = subagent.post(
        url, {"handoff_id": handoff_id, "sections": many, "confidence": 0.5}, format="json"
    )
    assert 400 <= response.status_code < 500 and set(response.json()) == {"error"}
    assert Handoff.objects.get(pk=handoff_id).status == "briefed"


def test_e164_phone_numbers_without_separators_are_redacted(agent, run, artifact_root, settings):
    document = {"customer": {"phone": "+442079460958", "mobile": "+15551234567"}, "n": 1700000000}
    response = upload(agent, run, "c.json", json.dumps(document).encode(), "api_response")
    assert response.status_code == 201, response.content
    stored = json.loads(stored_plain(artifact_root, settings, response.json()["id"]))
    assert stored["customer"] == {"phone": "[redacted]", "mobile": "[redacted]"}
    assert stored["n"] == 1700000000  # a timestamp is not a phone number


def test_the_same_bytes_under_another_class_are_not_a_silent_replay(agent, run, settings):
    data = b"user: jane\n"
    assert upload(agent, run, "p.txt", data, "run_log").status_code == 201
    again = upload(agent, run, "p.txt", data, "pii_artifact")  # would be encrypted
    assert again.status_code == 409, again.content
    assert again.json()["error"]["code"] == "artifact_exists"
    assert Artifact.objects.get().artifact_class == "run_log"


def test_handoff_key_cannot_download_or_answer_another_runs_brief(agent, subagent, run, project):
    response = upload(agent, run, "a.txt", b"hello\n", "run_log")
    assert subagent.get(response.json()["download_url"]).status_code == 403
    other_run = make_run(project)
    handoff_id = _brief(agent, other_run)
    answer = subagent.post(
        reverse("api:run-handoffs", args=[run.pk]),
        {"handoff_id": handoff_id, "sections": GOOD, "confidence": 0.5},
        format="json",
    )
    assert answer.status_code == 404 and set(answer.json()) == {"error"}
    other = make_project(slug="other-proj3")
    foreign = _brief(agent_client(make_key(other)), make_run(other))
    answer = subagent.post(
        reverse("api:run-handoffs", args=[run.pk]),
        {"handoff_id": foreign, "sections": GOOD, "confidence": 0.5},
        format="json",
    )
    assert answer.status_code == 404
    assert subagent.get(reverse("api:handoff-detail", args=[foreign])).status_code == 404
    assert set(Handoff.objects.values_list("status", flat=True)) == {"briefed"}


def test_wrong_media_types_and_bad_queries_are_4xx_in_one_shape(agent, run):
    url = reverse("api:run-artifacts", args=[run.pk])
    for response in (
        agent.generic(
            "POST", url, b'{"artifact_class": "run_log"}', content_type="application/json"
        ),
        agent.generic("POST", url, b"--x\r\n", content_type="multipart/form-data; boundary=x"),
        agent.get(url, {"before": "abc"}),
        agent.get(url, {"limit": "0"}),
        agent.get(reverse("api:run-handoff-context", args=[run.pk]), {"render": "xml"}),
        agent.get(reverse("api:run-handoff-context", args=[run.pk]), {"x": "\x00"}),
    ):
        assert 400 <= response.status_code < 500, response.status_code
        assert set(response.json()) == {"error"}
    assert not Artifact.objects.exists()


@pytest.mark.parametrize(
    "leak",
    [
        "login with password=hunter2-canary",
        '{"password": "hunter2-canary"}',
        "https://admin:hunter2-canary@db.example/",
        "GET /x?api_key=hunter2-canary&page=1",
        "GET /x?password%3Dhunter2-canary",
        "Authorization%3A%20Bearer%20canarytoken0123456789",
        "header Authorization: Bearer canarytoken0123456789",
    ],
)
def test_secret_spellings_in_handoff_output_are_refused(agent, subagent, run, leak):
    handoff_id = _brief(agent, run)
    response = subagent.post(
        reverse("api:run-handoffs", args=[run.pk]),
        {"handoff_id": handoff_id, "sections": {**GOOD, "findings": leak}, "confidence": 0.5},
        format="json",
    )
    assert response.status_code == 422, (leak, response.content)
    assert Handoff.objects.get(pk=handoff_id).status == "briefed"


def test_url_encoded_secrets_in_a_har_url_are_redacted(agent, run, artifact_root, settings):
    redirect = "https%3A%2F%2Fsso.example%2Fcb%3Fpassword%3Dhunter2-canary%26x%3D1"
    entry = {
        "request": {
            "method": "GET",
            "url": f"https://shop.example/login?next={redirect}",
            "headers": [
                {"name": "X-Debug", "value": "Authorization%3A%20Bearer%20canarytoken0123456789"}
            ],
        },
        "response": {"status": 302, "headers": [], "content": {"text": ""}},
    }
    response = upload(agent, run, "net/enc.har", _har(entry), "har_log")
    assert response.status_code == 201, response.content
    stored = stored_plain(artifact_root, settings, response.json()["id"])
    assert b"hunter2-canary" not in stored and b"canarytoken0123456789" not in stored


def test_a_malformed_artifact_key_fails_the_system_check(settings):
    from autopack_site.checks import check_artifact_keys

    assert check_artifact_keys(None) == []
    settings.AUTOPACK_ARTIFACT_KEYS = [Fernet.generate_key().decode(), "not-a-fernet-key"]
    errors = check_artifact_keys(None)
    assert [e.id for e in errors] == ["autopack.E005"]
    assert "entry 2" in errors[0].msg and "not-a-fernet-key" not in errors[0].msg


def test_a_file_lost_from_storage_is_503_not_500(agent, run, artifact_root):
    response = upload(agent, run, "a.txt", b"hello\n", "run_log")
    (artifact_root / Artifact.objects.get().storage_path).unlink()
    download = agent.get(response.json()["download_url"])
    assert download.status_code == 503, download.status_code
    assert download.json()["error"]["code"] == "artifact_unreadable"


def test_utf16_text_is_redacted_not_stored_as_binary(agent, run, artifact_root, settings):
    data = f"login {CANARY_EMAIL} key {CANARY_TOKEN}\r\n".encode("utf-16")  # with its BOM
    response = upload(agent, run, "ps.log", data, "run_log")
    assert response.status_code == 201, response.content
    stored = stored_plain(artifact_root, settings, response.json()["id"])
    for canary in (CANARY_EMAIL, CANARY_TOKEN):
        assert canary.encode("utf-16-le") not in stored and canary.encode() not in stored
    assert stored.decode("utf-8").startswith("\ufefflogin [redacted]") or stored.decode(
        "utf-8"
    ).startswith("login [redacted]")


def test_a_google_api_key_in_a_har_url_is_redacted(agent, run, artifact_root, settings):
    google_key = "AIzaSyCANARY0123456789abcdefghijklmnopq"
    assert len(google_key) == 39
    entry = {
        "request": {"method": "GET", "url": f"https://maps.example/api?key={google_key}&q=x"},
        "response": {"status": 200, "headers": [], "content": {"text": ""}},
    }
    response = upload(agent, run, "net/maps.har", _har(entry), "har_log")
    assert response.status_code == 201, response.content
    assert google_key.encode() not in stored_plain(artifact_root, settings, response.json()["id"])
