"""Fixtures shared by every app's tests: three personas per project and agent clients."""

import os

import pytest
from rest_framework.test import APIClient

from autopack_site.models import Role
from tests.factories import make_key, make_member, make_project


def agent_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def project(db):
    return make_project("acme")


@pytest.fixture
def other_project(db):
    return make_project("outsider-co")


@pytest.fixture
def agent(project):
    """An API client holding a read + runs:write key of ``project``."""
    return agent_client(make_key(project))


@pytest.fixture
def outsider_agent(other_project):
    """A client with every scope, but for another project."""
    return agent_client(
        make_key(other_project, scopes=["read", "runs:write", "actions:write", "trading:write"])
    )


@pytest.fixture
def member(project):
    return make_member(project, Role.VIEWER)


@pytest.fixture
def operator(project):
    return make_member(project, Role.OPERATOR)


@pytest.fixture
def outsider(other_project):
    return make_member(other_project, Role.OPERATOR)


@pytest.fixture(scope="session", autouse=True)
def _test_database_may_be_emptied(django_db_setup, django_db_blocker):
    """Transactional tests end with Django's flush, a TRUNCATE of every table, which the
    append-only tables refuse unless the database allows it (autopack_site/db/append_only.py):
    the test database, thrown away afterwards, does."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        name = connection.settings_dict["NAME"]
        cursor.execute(f"ALTER DATABASE \"{name}\" SET autopack.allow_truncate = 'on'")
        cursor.execute("SET autopack.allow_truncate = 'on'")


@pytest.fixture(scope="session", autouse=True)
def _stop_change_listener(django_db_setup, django_db_blocker):
    """The long-poll listener thread holds a connection to the test database; it ends before
    the database is dropped."""
    yield
    from autopack_site.changes import stop_listener

    stop_listener()


CHROMIUM = os.environ.get("AUTOPACK_CHROMIUM", "/usr/bin/chromium")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need row locks and real concurrency; SQLite skips them, and
    .ci/run runs the whole suite again on PostgreSQL where they must pass. Tests marked
    ``browser`` need Debian's chromium; in CI (CI=true) a missing browser fails instead."""
    from django.conf import settings

    if not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true":
        skip_browser = pytest.mark.skip(reason=f"needs chromium at {CHROMIUM}")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip_browser)
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
