"""Artifacts as agents and operators depend on them: what is stored holds no secrets, what must
be encrypted is unreadable on disk, names stay inside the run, and retention really deletes."""

import hashlib
import json
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from artifacts.models import Artifact, ArtifactEvent, ArtifactStatus
from artifacts.services.retention import artifacts_sweep_expired
from autopack_site.schedules import SCHEDULES
from conftest import agent_client
from tests.factories import make_key, make_run

pytestmark = pytest.mark.django_db

CANARY_TOKEN = "sk-ant-CANARY0123456789abcdefghij"
CANARY_BEARER = "Bearer canarytoken0123456789"
CANARY_PASSWORD = "hunter2-canary"
CANARY_EMAIL = "canary.person@example.org"
CANARY_PHONE = "+44 20 7946 0958"
CANARY_IP = "203.0.113.77"
CANARY_COOKIE = "sessionid-canary-4242"
CANARIES = [CANARY_TOKEN, CANARY_PASSWORD, CANARY_EMAIL, CANARY_PHONE, CANARY_IP, CANARY_COOKIE]


def har_document() -> dict:
    return {
        "log": {
            "version": "1.2",
            "entries": [
                {
                    "request": {
                        "method": "POST",
                        "url": f"https://shop.example/api/login?api_key={CANARY_TOKEN}&page=2",
                        "headers": [
                            {"name": "Authorization", "value": CANARY_BEARER},
                            {"name": "Accept", "value": "application/json"},
                            {"name": "X-Forwarded-For", "value": CANARY_IP},
                        ],
                        "cookies": [{"name": "sid", "value": CANARY_COOKIE}],
                        "queryString": [
                            {"name": "api_key", "value": CANARY_TOKEN},
                            {"name": "page", "value": "2"},
                        ],
                        "postData": {
                            "mimeType": "application/json",
                            "text": json.dumps({"user": CANARY_EMAIL, "password": CANARY_PASSWORD}),
                        },
                    },
                    "response": {
                        "status": 200,
                        "headers": [{"name": "Set-Cookie", "value": f"sid={CANARY_COOKIE}"}],
                        "content": {
                            "mimeType": "application/json",
                            "text": json.dumps({"phone": CANARY_PHONE, "ok": True}),
                        },
                    },
                }
            ],
        }
    }


def upload(client, run, name, data: bytes, artifact_class: str, *, sha=None, content_type=None):
    return client.post(
        reverse("api:run-artifacts", args=[run.pk]),
        {
            "file": SimpleUploadedFile(
                "upload.bin", data, content_type or "application/octet-stream"
            ),
            "artifact_class": artifact_class,
            "sha256": sha or hashlib.sha256(data).hexdigest(),
            "name": name,
        },
        format="multipart",
    )


def on_disk(root, artifact_id: int) -> bytes:
    artifact = Artifact.objects.get(pk=artifact_id)
    return (root / artifact.storage_path).read_bytes()


@pytest.fixture
def run(project):
    return make_run(project)


def test_canaries_in_har_json_and_text_are_absent_from_storage(agent, run, artifact_root, settings):
    text = (
        f"login as {CANARY_EMAIL} from {CANARY_IP}\npassword={CANARY_PASSWORD}\n"
        f"Authorization: {CANARY_BEARER}\nkey {CANARY_TOKEN} call {CANARY_PHONE}\nok\n"
    ).encode()
    document = {
        "customer": {"email": CANARY_EMAIL, "phone": CANARY_PHONE},
        "api_key": CANARY_TOKEN,
        "note": f"seen from {CANARY_IP}",
        "items": [1, 2],
    }
    uploads = [
        ("net/session.har", json.dumps(har_document()).encode(), "har_log"),
        ("responses/order.json", json.dumps(document).encode(), "api_response"),
        ("logs/run.txt", text, "run_log"),
    ]
    for name, data, artifact_class in uploads:
        response = upload(agent, run, name, data, artifact_class)
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["redacted"] is True and body["redaction_count"] >= 4, body
        stored = on_disk(artifact_root, body["id"])
        content = (
            Fernet(settings.AUTOPACK_ARTIFACT_KEYS[0]).decrypt(stored)
            if body["encrypted"]
            else stored
        )
        for canary in [*CANARIES, "canarytoken0123456789"]:
            assert canary.encode() not in content, (name, canary)
        # what is kept is still useful: the structure and the harmless values survive
        download = agent.get(body["download_url"])
        assert download.status_code == 200
        assert download["X-Artifact-Redacted"] == "true"
        assert int(download["X-Artifact-Redaction-Count"]) == body["redaction_count"]
        assert download.content == content
    # every file lies under the run's canonical layout path
    for artifact in Artifact.objects.filter(run=run):
        assert artifact.storage_path.startswith(run.layout_path)


def test_an_encrypted_class_is_unreadable_on_disk_and_readable_after_key_rotation(
    agent, run, artifact_root, settings
):
    data = json.dumps({"cookies": [], "origins": [{"origin": "https://shop.example"}]}).encode()
    response = upload(agent, run, "state.json", data, "browser_state")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["encrypted"] is True
    raw = on_disk(artifact_root, body["id"])
    assert b"shop.example" not in raw and b"origins" not in raw
    old_key = settings.AUTOPACK_ARTIFACT_KEYS[0]

    # rotation: a new key encrypts from now on, the old one still decrypts (no re-upload)
    settings.AUTOPACK_ARTIFACT_KEYS = [Fernet.generate_key().decode(), old_key]
    download = agent.get(body["download_url"])
    assert download.status_code == 200
    assert json.loads(download.content)["origins"][0]["origin"] == "https://shop.example"

    # without the old key the file cannot be read, and says so
    settings.AUTOPACK_ARTIFACT_KEYS = [Fernet.generate_key().decode()]
    refused = agent.get(body["download_url"])
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "artifact_unreadable"


def test_classes_needing_encryption_are_refused_without_a_key(agent, run, settings):
    settings.AUTOPACK_ARTIFACT_KEYS = []
    response = upload(agent, run, "s.har", json.dumps(har_document()).encode(), "har_log")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "encryption_not_configured"
    assert upload(agent, run, "ok.txt", b"fine", "run_log").status_code == 201


def test_credential_artifacts_are_never_stored(agent, run, artifact_root):
    response = upload(agent, run, "creds.txt", b"token", "credential_artifact")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "artifact_class_refused"
    assert not Artifact.objects.exists()
    assert not artifact_root.exists() or not any(artifact_root.rglob("creds.txt"))


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "/etc/passwd", "a/../../b", "..", ".hidden", "a\\..\\b", "a//b", "x\x00"],
)
def test_a_traversal_name_is_refused(agent, run, name, artifact_root):
    response = upload(agent, run, name, b"data", "run_log")
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] in ("artifact_name_invalid", "validation_error")
    assert not Artifact.objects.exists()


def test_the_sha256_is_verified_and_size_limited(agent, run, settings):
    bad = upload(agent, run, "a.txt", b"data", "run_log", sha="0" * 64)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "sha256_mismatch"
    settings.AUTOPACK_ARTIFACT_MAX_BYTES = 10
    big = upload(agent, run, "b.txt", b"x" * 11, "run_log")
    assert big.status_code == 413
    assert big.json()["error"]["code"] in ("artifact_too_large", "request_too_large")


def test_replay_same_bytes_is_200_and_other_bytes_409(agent, run):
    assert upload(agent, run, "a.txt", b"one", "run_log").status_code == 201
    assert upload(agent, run, "a.txt", b"one", "run_log").status_code == 200
    clash = upload(agent, run, "a.txt", b"two", "run_log")
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "artifact_exists"


def test_downloads_stay_inside_the_project(agent, outsider_agent, run, project):
    body = upload(agent, run, "a.txt", b"one", "run_log").json()
    assert outsider_agent.get(body["download_url"]).status_code == 404
    assert outsider_agent.get(reverse("api:run-artifacts", args=[run.pk])).status_code == 404
    read_only = agent_client(make_key(project, scopes=["read"]))
    assert read_only.get(body["download_url"]).status_code == 200
    assert upload(read_only, run, "b.txt", b"two", "run_log").status_code == 403
    listed = agent.get(reverse("api:run-artifacts", args=[run.pk])).json()
    assert [a["name"] for a in listed["results"]] == ["a.txt"]


def test_retention_deletes_expired_files_and_archives_audit_ones(agent, run, artifact_root):
    log = upload(agent, run, "debug.txt", b"debug", "debug_log").json()
    audit = upload(agent, run, "audit.txt", b"audit", "audit_log").json()
    fresh = upload(agent, run, "fresh.txt", b"fresh", "run_log").json()
    assert Artifact.objects.get(pk=log["id"]).expires_at > timezone.now() + timedelta(days=29)
    assert Artifact.objects.get(pk=audit["id"]).expires_at > timezone.now() + timedelta(days=364)
    log_path = artifact_root / Artifact.objects.get(pk=log["id"]).storage_path
    assert log_path.exists()
    past = timezone.now() - timedelta(seconds=1)
    Artifact.objects.filter(pk__in=[log["id"], audit["id"]]).update(expires_at=past)

    assert artifacts_sweep_expired() == {"archived": 1, "deleted": 1, "files_removed": 1}
    assert not log_path.exists()
    deleted = Artifact.objects.get(pk=log["id"])
    assert deleted.status == ArtifactStatus.DELETED and deleted.file_purged_at is not None
    event = ArtifactEvent.objects.filter(artifact=deleted).latest("id")
    assert (event.to_status, event.reason, event.actor) == ("deleted", "retention", "system")
    assert event.detail["sha256"] == log["sha256"]
    assert agent.get(log["download_url"]).json()["error"]["code"] == "artifact_deleted"

    archived = Artifact.objects.get(pk=audit["id"])
    assert archived.status == ArtifactStatus.ARCHIVED
    assert (artifact_root / archived.storage_path).exists()
    assert agent.get(audit["download_url"]).content == b"audit"
    assert Artifact.objects.get(pk=fresh["id"]).status == ArtifactStatus.STORED
    # a second pass finds nothing more to do
    assert artifacts_sweep_expired() == {"archived": 0, "deleted": 0, "files_removed": 0}


def test_the_retention_schedule_exists_and_runs_the_sweep():
    names = {name: func for name, func, _ in SCHEDULES}
    assert names["artifacts-retention"] == "artifacts.tasks.artifacts_sweep_expired"
    from artifacts.tasks import artifacts_sweep_expired as task

    assert task() == {"archived": 0, "deleted": 0, "files_removed": 0}


def test_a_project_retention_override_applies_to_new_uploads(agent, run, project):
    from artifacts.models import RetentionOverride

    RetentionOverride.objects.create(project=project, artifact_class="run_log", days=2)
    body = upload(agent, run, "a.txt", b"x", "run_log").json()
    expires = Artifact.objects.get(pk=body["id"]).expires_at
    assert timezone.now() + timedelta(days=1) < expires < timezone.now() + timedelta(days=3)


def test_a_binary_screenshot_is_stored_as_is_but_binary_in_a_redacted_class_is_refused(
    agent, run, artifact_root
):
    png = b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary"
    ok = upload(agent, run, "shot.png", png, "screenshot", content_type="image/png").json()
    assert on_disk(artifact_root, ok["id"]) == png and ok["redacted"] is False
    refused = upload(agent, run, "err.bin", png, "error_log")
    assert refused.json()["error"]["code"] == "artifact_not_redactable"
