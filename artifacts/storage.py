"""Where artifact bytes live: Django's storage API (file system by default, any backend in
production through STORAGES[AUTOPACK_ARTIFACT_STORAGE]), under the run's canonical layout path.
Names are checked before they become paths, and the storage refuses anything that resolves
outside its root (SuspiciousFileOperation) as a second line."""

import re
import uuid

from django.conf import settings
from django.core.files.storage import Storage, storages

from autopack_site.errors import Unprocessable
from runs.models import Run

# Relative, at most five segments, each starting with a letter or digit: no "..", no leading
# "/", no backslash, no control characters, no hidden files.
SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
NAME = re.compile(rf"^(?:{SEGMENT}/){{0,4}}{SEGMENT}$")


def artifact_storage() -> Storage:
    return storages[settings.AUTOPACK_ARTIFACT_STORAGE]


def name_problem(name: str) -> str | None:
    if not NAME.fullmatch(name) or ".." in name.split("/"):
        return (
            "An artifact name is a relative path inside the run's directory: up to five "
            "segments of letters, digits, '.', '_' and '-', each starting with a letter or "
            "digit (no '..', no leading '/', no backslash)."
        )
    return None


def checked_name(name: str) -> str:
    if problem := name_problem(name):
        raise Unprocessable(problem, code="artifact_name_invalid", details={"name": name[:300]})
    return name


def storage_path_for(run: Run, name: str) -> str:
    """``<layout path>artifacts/<random>/<name>``: the random segment keeps a re-upload after a
    deletion from ever meeting the old file."""
    return f"{run.layout_path}artifacts/{uuid.uuid4().hex[:16]}/{checked_name(name)}"
