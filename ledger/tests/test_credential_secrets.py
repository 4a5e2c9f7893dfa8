"""Secrets cannot leave for places an admin user chooses: a credential names a secret only in
its project's namespace, the token endpoint belongs to the adapter, and the admin shows where a
secret is read from and whether it is set, never its value."""

import pytest
from django.apps import apps
from django.utils import timezone

from autopack_site.models import Role
from autopack_site.project_secrets import SecretUnavailable, secret_read, secret_variable
from autopack_site.services import staff_group_sync
from ledger.models import ActionStatus, ExternalAction, ProviderCredential
from ledger.services import action_execute
from ledger.services import credentials as credential_services
from ledger.tests.conftest import SECRETS, order, propose
from ledger.tests.test_execution import approve
from tests.factories import make_member, make_project
from tests.listeners import Listener

pytestmark = pytest.mark.django_db

OTHER_CANARY = "other-projects-youtube-secret-0123456789"
PLATFORM_CANARY = "platform-setting-canary-0123456789"


@pytest.fixture
def owner(client, ledger_project):
    """The strongest admin user short of a superuser: owner of the project, every model
    permission of the demo's operators group."""
    user = make_member(ledger_project, Role.OWNER)
    user.groups.add(staff_group_sync())
    client.force_login(user)
    return user


def credential_form(project, **fields):
    return {
        "project": project.pk,
        "provider": "youtube",
        "name": "youtube-main",
        "environment": "sandbox",
        "scopes": '["youtube.upload"]',
        "allowed_actions": '["*"]',
        "secret_name": "YOUTUBE_TOKEN",
        "refresh_token_name": "",
        "rotated_at_0": timezone.now().strftime("%Y-%m-%d"),
        "rotated_at_1": "00:00:00",
        "active": "on",
        "held_reason": "",
        **fields,
    }


def form_errors(response) -> dict[str, str]:
    """The admin form's errors, field → messages (the page re-rendered with them)."""
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    return {field: " ".join(messages) for field, messages in errors.items()}


def test_the_exfiltration_is_refused_at_save_and_no_secret_reaches_the_listener(
    client, owner, ledger_project, other_project, actor, approver, monkeypatch
):
    """The attack of issue 8: name a platform variable or another project's secret, point the
    token endpoint at a listener, get an action approved so the worker refreshes the token."""
    monkeypatch.setenv("DATABASE_PASSWORD", PLATFORM_CANARY)
    monkeypatch.setenv(secret_variable(other_project.slug, "YOUTUBE_TOKEN"), OTHER_CANARY)
    monkeypatch.setenv(secret_variable(ledger_project.slug, "YOUTUBE_REFRESH"), "refresh-0123456")
    ProviderCredential.objects.filter(provider="youtube").delete()
    add = "/admin/ledger/providercredential/add/"
    with Listener() as listener:
        token_url = f"{listener.url}/token"
        attempts = {
            "DATABASE_URL": "one of Autopack's own settings",
            secret_variable(other_project.slug, "YOUTUBE_TOKEN"): "full variable name",
            "AUTOPACK_SECRET_OUTSIDER_CO__YOUTUBE_TOKEN": "full variable name",
            "../outsider-co/YOUTUBE_TOKEN": "capital letters and digits",
            "$DATABASE_PASSWORD": "capital letters and digits",
            "youtube_token": "capital letters and digits",
            "A__B": "capital letters and digits",
        }
        for name, message in attempts.items():
            response = client.post(add, credential_form(ledger_project, secret_name=name))
            assert message in form_errors(response)["secret_name"], name
            response = client.post(
                add, credential_form(ledger_project, refresh_token_name=name, token_url=token_url)
            )
            assert message in form_errors(response)["refresh_token_name"], name
        elsewhere = client.post(add, credential_form(other_project))
        assert "Select a valid choice" in form_errors(elsewhere)["project"]
        assert not ProviderCredential.objects.filter(provider="youtube").exists()

        # A valid credential saves; the token endpoint the user sends is no field of it.
        saved = client.post(
            add,
            credential_form(
                ledger_project, refresh_token_name="YOUTUBE_REFRESH", token_url=token_url
            ),
        )
        assert saved.status_code == 302
        credential = ProviderCredential.objects.get(provider="youtube")
        assert not hasattr(credential, "token_url")
        monkeypatch.setattr(credential_services, "_access_tokens", {})

        body = propose(actor, "x-1", "youtube", "videos.insert", {"snippet": {"title": "Hi"}})
        approve(body.json()["id"], approver)
        assert action_execute(body.json()["id"]) == ActionStatus.SUCCEEDED
        credential.refresh_from_db()
        assert credential.last_refresh_at is not None  # refreshed at the adapter's endpoint
        assert listener.received == []  # nothing, let alone a secret, reached the listener
    action = ExternalAction.objects.get(idempotency_key="x-1")
    assert OTHER_CANARY not in str(action.__dict__)


def test_the_admin_shows_where_a_secret_is_read_and_whether_it_is_set_never_the_value(
    client, owner, ledger_project, monkeypatch
):
    credential = ProviderCredential.objects.get(provider="shopify")
    variable = secret_variable(ledger_project.slug, "SHOPIFY_TOKEN")
    page = client.get(f"/admin/ledger/providercredential/{credential.pk}/change/").content.decode()
    assert f"environment variable {variable} — set" in page
    assert SECRETS["shopify"][1] not in page
    monkeypatch.delenv(variable)
    page = client.get(f"/admin/ledger/providercredential/{credential.pk}/change/").content.decode()
    assert f"environment variable {variable} — not set" in page
    webhook = ProviderCredential.objects.get(provider="webhook")
    page = client.get(f"/admin/ledger/providercredential/{webhook.pk}/change/").content.decode()
    assert f"the signing secret of project {ledger_project.slug} — set" in page


def test_a_credential_reads_its_own_projects_variable_and_no_other(
    ledger_project, other_project, monkeypatch
):
    monkeypatch.setenv(secret_variable(other_project.slug, "SHOPIFY_TOKEN"), OTHER_CANARY)
    assert secret_read(ledger_project, "SHOPIFY_TOKEN") == SECRETS["shopify"][1]
    assert secret_read(ledger_project, "OTHER_NAME") is None
    with pytest.raises(SecretUnavailable):
        secret_read(ledger_project, "../outsider-co/SHOPIFY_TOKEN")


def test_projects_whose_slugs_share_a_variable_prefix_cannot_read_it(ledger_project, monkeypatch):
    twin = make_project(ledger_project.slug.upper())  # "ACME" maps to the same variables
    monkeypatch.setenv(secret_variable(twin.slug, "SHOPIFY_TOKEN"), "twin-secret")
    with pytest.raises(SecretUnavailable, match="share the variables"):
        secret_read(twin, "SHOPIFY_TOKEN")
    with pytest.raises(SecretUnavailable, match="share the variables"):
        secret_read(ledger_project, "SHOPIFY_TOKEN")
    # the double underscore: "demo" naming X_TOKEN is not "demo-x" naming TOKEN
    assert secret_variable("demo", "X_TOKEN") != secret_variable("demo-x", "TOKEN")


def test_secret_files_are_read_inside_the_projects_folder_only(
    ledger_project, other_project, settings, tmp_path
):
    settings.AUTOPACK_SECRETS_DIR = str(tmp_path)
    mine = tmp_path / ledger_project.slug
    theirs = tmp_path / other_project.slug
    mine.mkdir()
    theirs.mkdir()
    (mine / "SHOPIFY_TOKEN").write_text("from-a-file\n")
    (theirs / "YOUTUBE_TOKEN").write_text(OTHER_CANARY)
    assert secret_read(ledger_project, "SHOPIFY_TOKEN") == "from-a-file"
    # the environment answers where no file exists; another project's file is never read
    assert secret_read(ledger_project, "YOUTUBE_TOKEN") == SECRETS["youtube"][1]
    (mine / "STOLEN").symlink_to(theirs / "YOUTUBE_TOKEN")
    with pytest.raises(SecretUnavailable, match="outside"):
        secret_read(ledger_project, "STOLEN")


def test_a_credential_with_an_unusable_name_is_held_at_execution(actor, ledger_project):
    """Defence in depth: a row written around the form (e.g. by SQL) still reads nothing."""
    ProviderCredential.objects.filter(provider="alpaca").update(secret_name="DATABASE_URL")
    body = propose(actor, "h-1", "alpaca", "orders.create", order()).json()
    assert action_execute(body["id"]) == ActionStatus.HELD
    action = ExternalAction.objects.get(pk=body["id"])
    assert "Autopack's own settings" in action.error


def test_the_migration_keeps_names_in_the_namespace_and_holds_the_rest(ledger_project):
    from importlib import import_module

    migration = import_module("ledger.migrations.0006_credential_secret_namespace")
    inside = secret_variable(ledger_project.slug, "ALPACA_KEY")
    ProviderCredential.objects.filter(provider="alpaca").update(secret_name=inside)
    ProviderCredential.objects.filter(provider="shopify").update(secret_name="DATABASE_URL")
    ProviderCredential.objects.filter(provider="webhook").update(secret_name="OLD_WEBHOOK")
    migration.into_the_namespace(apps, None)
    rows = {c.provider: c for c in ProviderCredential.objects.all()}
    assert (rows["alpaca"].secret_name, rows["alpaca"].held_reason) == ("ALPACA_KEY", "")
    assert rows["shopify"].secret_name == "" and "DATABASE_URL" in rows["shopify"].held_reason
    assert (rows["webhook"].secret_name, rows["webhook"].held_reason) == ("", "")
