"""Signatures (autopack_site/signing.py, and the SDK's twin) and each project's signing secret:
shown once, encrypted at rest, rotated with a grace period."""

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from autopack_client import verify_signature
from autopack_site.models import ProjectSigningSecret
from autopack_site.selectors import signing_secret_current
from autopack_site.services import signing_secret_rotate
from autopack_site.signing import sign, verify

BODY = '{"event":"approved","ü":1}'.encode()


def test_a_signature_verifies_only_with_its_secret_body_and_time():
    header = sign("secret-one", BODY, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify("secret-one", header, BODY, now=1_700_000_100)
    assert not verify("secret-two", header, BODY, now=1_700_000_100)
    assert not verify("secret-one", header, BODY + b" ", now=1_700_000_100)
    assert not verify("secret-one", header, BODY, now=1_700_000_000 + 301)  # replayed late
    for broken in ("", "t=abc,v1=00", "v1=00", f"t=1700000000,v1={'0' * 64}"):
        assert not verify("secret-one", broken, BODY, now=1_700_000_000)


def test_a_verifier_may_hold_the_old_and_the_new_secret_while_a_rotation_settles():
    header = sign("old-secret", BODY)
    assert verify(["new-secret", "old-secret"], header, BODY)
    both = f"{header},v1={sign('new-secret', BODY).split('v1=')[1]}"
    assert verify("new-secret", both, BODY) and verify("old-secret", both, BODY)


def test_the_sdk_twin_agrees_with_the_server():
    header = sign("shared-secret", BODY)
    assert verify_signature("shared-secret", header, BODY)
    assert verify_signature(["other", "shared-secret"], header, BODY)
    assert not verify_signature("other", header, BODY)


@pytest.mark.django_db
def test_rotation_shows_the_secret_once_and_stores_it_encrypted(project, capsys):
    call_command("signingsecret", "rotate", "--project", project.slug)
    shown = capsys.readouterr().out.strip().splitlines()[-1]
    assert shown.startswith("apsig_")
    row = ProjectSigningSecret.objects.get(project=project)
    assert shown not in row.sealed_secret
    assert signing_secret_current(project_id=project.pk) == shown  # the first one signs now
    call_command("signingsecret", "list", "--project", project.slug)
    listing = capsys.readouterr().out
    assert row.fingerprint in listing and shown not in listing


@pytest.mark.django_db
def test_the_previous_secret_signs_through_the_grace_period_unless_rotated_now(project, settings):
    settings.AUTOPACK_SIGNING_SECRET_GRACE_SECONDS = 3600
    _row, first = signing_secret_rotate(project=project)
    pending, second = signing_secret_rotate(project=project)
    assert signing_secret_current(project_id=project.pk) == first  # agents install the new one
    ProjectSigningSecret.objects.filter(pk=pending.pk).update(signs_from=timezone.now())
    assert signing_secret_current(project_id=project.pk) == second
    _row, leaked_fix = signing_secret_rotate(project=project, immediately=True)
    assert signing_secret_current(project_id=project.pk) == leaked_fix


@pytest.mark.django_db
def test_an_immediate_rotation_supersedes_a_pending_one(project, settings):
    settings.AUTOPACK_SIGNING_SECRET_GRACE_SECONDS = 3600
    signing_secret_rotate(project=project)
    signing_secret_rotate(project=project)  # pending for an hour
    _row, now = signing_secret_rotate(project=project, immediately=True)
    assert ProjectSigningSecret.objects.filter(signs_from__gt=timezone.now()).count() == 0
    assert signing_secret_current(project_id=project.pk) == now


@pytest.mark.django_db
def test_secrets_stay_readable_across_a_secret_key_rotation_with_fallbacks(project, settings):
    _row, secret = signing_secret_rotate(project=project)
    with override_settings(SECRET_KEY="a-new-key-" * 5, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert signing_secret_current(project_id=project.pk) == secret
    with override_settings(SECRET_KEY="a-new-key-" * 5, SECRET_KEY_FALLBACKS=[]):
        assert signing_secret_current(project_id=project.pk) is None  # unreadable, and logged


@pytest.mark.django_db
def test_each_project_signs_with_its_own_secret(project, other_project):
    _row, mine = signing_secret_rotate(project=project)
    _row, theirs = signing_secret_rotate(project=other_project)
    assert mine != theirs
    assert signing_secret_current(project_id=project.pk) == mine
    assert signing_secret_current(project_id=other_project.pk) == theirs
