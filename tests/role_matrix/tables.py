"""docs/roles.md's three tables, read as data: what the role matrix expects of every cell."""

import itertools
from pathlib import Path

from django.conf import settings
from django.contrib import admin

from autopack_site.models import Role
from autopack_site.roles import Capability

PERSONAS = [*Role.values, "no_membership", "superuser"]
WHERE = ("own", "other")


def _markdown_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Each table keyed by its first header cell; rows as {header: cell without backticks}."""
    tables: dict[str, list[dict[str, str]]] = {}
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("|") or (index and lines[index - 1].startswith("|")):
            continue
        header = [cell.strip() for cell in line.strip("|").split("|")]
        rows = []
        for row_line in itertools.takewhile(lambda x: x.startswith("|"), lines[index + 2 :]):
            cells = [cell.strip().replace("`", "") for cell in row_line.strip("|").split("|")]
            rows.append(dict(zip(header, cells, strict=True)))
        tables[header[0]] = rows
    return tables


DOCS = _markdown_tables((Path(settings.BASE_DIR) / "docs" / "roles.md").read_text())
ROLE_TABLE = {
    Capability(row["capability"]): {persona for persona in PERSONAS if row.get(persona) == "✓"}
    for row in DOCS["capability"]
}
MODEL_TABLE = {row["model"]: row for row in DOCS["model"]}
ACTION_TABLE = {
    (row["page"], row["action or view"].removesuffix(" view")): row["capability"]
    for row in DOCS["page"]
}


def expected(cell: str, persona: str, where: str) -> bool | None:
    """What the docs say for ``persona`` on a row of its own or another project; None: not
    Autopack's to say (Django's own admin, for a superuser)."""
    if cell == "—":
        return False
    if cell == "site":
        return None if persona == "superuser" else False
    if cell == "superuser":
        return persona == "superuser"
    # "a or b": either capability will do (e.g. limits: edit_policy or supervise_trading)
    holders = set().union(*(ROLE_TABLE[Capability(c)] for c in cell.split(" or ")))
    if persona == "superuser":
        return persona in holders
    return where == "own" and persona in holders


def label_of(model) -> str:
    return model._meta.label_lower


REGISTERED = sorted(admin.site._registry, key=label_of)


def custom_views(model_admin) -> set[str]:
    prefix = f"{model_admin.opts.app_label}_{model_admin.opts.model_name}_"
    standard = {"changelist", "add", "history", "delete", "change"}
    names = {pattern.name for pattern in model_admin.get_urls() if pattern.name}
    return {name.removeprefix(prefix) for name in names} - standard


def documented_actions(model_admin) -> set[str]:
    names = {getattr(action, "__name__", action) for action in model_admin.actions or []}
    row = MODEL_TABLE[label_of(model_admin.model)]
    if row["delete"] not in ("—", "site"):
        names.add("delete_selected")
    return names | custom_views(model_admin)
