"""Where a project's provider secrets live: only inside a namespace that belongs to the project.

A credential stores a NAME (capital letters, digits, single underscores); the place is derived
from the project and the name, never typed by a user:

* the file ``AUTOPACK_SECRETS_DIR/<project slug>/<NAME>`` when that directory is configured and
  the file exists (Docker and Kubernetes secrets are files), else
* the environment variable ``AUTOPACK_SECRET_<PROJECT>__<NAME>`` (slug upper-cased, anything
  not a letter or digit → ``_``). The double underscore is the border: names may not contain
  one, so project ``demo`` naming ``X_TOKEN`` can never reach project ``demo-x``'s ``TOKEN``.

So an admin user can name a secret of their own project and nothing else: not DATABASE_URL, not
another project's variable, not a path."""

import os
import re
from pathlib import Path

from django.conf import settings

from autopack_site.env import SETTING_VARIABLES
from autopack_site.models import Project

VARIABLE_PREFIX = "AUTOPACK_SECRET_"
NAME_PATTERN = re.compile(r"[A-Z0-9]+(?:_[A-Z0-9]+)*")
MAX_NAME_LENGTH = 64


class SecretUnavailable(Exception):
    """The namespace cannot be read safely (shared with another project, or a file outside)."""


def project_token(slug: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", slug.upper())


def secret_variable(slug: str, name: str) -> str:
    return f"{VARIABLE_PREFIX}{project_token(slug)}__{name}"


def secret_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a secret, or None. The message says what to type instead."""
    if name.startswith("AUTOPACK_"):
        return (
            f"{name} is a full variable name. Give only the secret's name inside this "
            "project's namespace (e.g. SHOPIFY_TOKEN); the variable is derived from it."
        )
    if name in SETTING_VARIABLES:
        return (
            f"{name} is one of Autopack's own settings, not a provider secret. Give the name "
            "of a secret inside this project's namespace (e.g. SHOPIFY_TOKEN)."
        )
    if len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.fullmatch(name):
        return (
            "A secret name is capital letters and digits joined by single underscores "
            f"(e.g. SHOPIFY_TOKEN), at most {MAX_NAME_LENGTH} characters."
        )
    return None


def _secret_file(slug: str, name: str) -> Path | None:
    if not settings.AUTOPACK_SECRETS_DIR:
        return None
    folder = (Path(settings.AUTOPACK_SECRETS_DIR) / slug).resolve()
    path = (folder / name).resolve()
    if not path.is_relative_to(folder):  # a symlink pointing out of the project's folder
        raise SecretUnavailable(f"The secret file for {name} points outside {folder}.")
    return path


def _namespace_shared(project: Project) -> list[str]:
    """Other projects whose slug maps to the same variable prefix (``a-b`` and ``a_b``)."""
    pattern = "".join("[-_]" if char in "-_" else re.escape(char) for char in project.slug)
    return list(
        Project.objects.exclude(pk=project.pk)
        .filter(slug__iregex=f"^{pattern}$")
        .values_list("slug", flat=True)
    )


def secret_location(project: Project, name: str) -> str:
    """Where the secret named ``name`` is read from (for the admin and error messages)."""
    path = _secret_file(project.slug, name)
    if path is not None and path.is_file():
        return f"file {path}"
    return f"environment variable {secret_variable(project.slug, name)}"


def secret_read(project: Project, name: str) -> str | None:
    """The secret's value, or None when it is not set. Raises SecretUnavailable when the name
    is invalid or the namespace cannot be told apart from another project's."""
    if problem := secret_name_problem(name):
        raise SecretUnavailable(problem)
    path = _secret_file(project.slug, name)
    if path is not None and path.is_file():
        return path.read_text().rstrip("\r\n") or None
    if shared := _namespace_shared(project):
        raise SecretUnavailable(
            f"Projects {project.slug} and {', '.join(shared)} share the variables "
            f"{VARIABLE_PREFIX}{project_token(project.slug)}__*; rename one of them or use "
            "AUTOPACK_SECRETS_DIR."
        )
    return os.environ.get(secret_variable(project.slug, name)) or None
