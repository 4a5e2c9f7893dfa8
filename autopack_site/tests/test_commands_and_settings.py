import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from autopack_site.models import AgentKey, Project
from conftest import agent_client

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_createproject_then_agentkey_prints_the_key_on_its_last_line():
    call_command("createproject", "shop", stdout=StringIO())
    assert Project.objects.filter(slug="shop").exists()
    out = StringIO()
    call_command(
        "agentkey",
        "create",
        "--project",
        "shop",
        "--name",
        "bot",
        "--scopes",
        "read",
        stdout=out,
        stderr=StringIO(),
    )
    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith("apk_")
    assert agent_client(key).get("/api/v1/me").json()["project"] == "shop"
    assert AgentKey.objects.get(name="bot").scopes == ["read"]


@pytest.mark.django_db
def test_agentkey_refuses_unknown_scopes_and_projects():
    call_command("createproject", "shop", stdout=StringIO())
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("agentkey", "create", "--project", "shop", "--name", "b", "--scopes", "root")
    with pytest.raises(CommandError, match="No project"):
        call_command("agentkey", "create", "--project", "nope", "--name", "b")


@pytest.mark.django_db
def test_createproject_with_a_policy_template():
    out = StringIO()
    call_command("createproject", "studio", "--policy", "downstream", stdout=out)
    policy = Project.objects.get(slug="studio").policy
    assert policy.version == 1 and policy.safety_profile == "normal"
    assert policy.revisions.get().reason == "applied the 'downstream' template"
    assert "with the 'downstream' policy" in out.getvalue()


@pytest.mark.django_db
def test_createproject_refuses_duplicates():
    call_command("createproject", "shop", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("createproject", "shop", stdout=StringIO())


def _django(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secret_key_and_hosts():
    result = _django({"AUTOPACK_ENV": "production"}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_production_refuses_debug():
    result = _django(
        {"AUTOPACK_ENV": "production", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "a", "DEBUG": "1"},
        "check",
    )
    assert result.returncode != 0
    assert "DEBUG is on" in result.stderr


def test_production_check_deploy_is_clean():
    result = _django(
        {
            "AUTOPACK_ENV": "production",
            "SECRET_KEY": "k" * 20 + "-production-secret-for-the-deploy-check-0123456789",
            "ALLOWED_HOSTS": "autopack.example.com",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/autopack",
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout
