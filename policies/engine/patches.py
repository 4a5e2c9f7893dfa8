"""Unified diffs (git format) → the files they change, parsed with unidiff."""

import hashlib
from dataclasses import dataclass

import unidiff

from policies.engine.paths import UnsafePathError, normalise_path


class PatchParseError(ValueError):
    pass


@dataclass(frozen=True)
class ChangedFile:
    path: str
    old_path: str | None
    change: str  # added | deleted | modified | renamed
    binary: bool
    mode_change: str | None
    lines_added: int
    lines_removed: int


@dataclass(frozen=True)
class ParsedPatch:
    sha256: str
    files: tuple[ChangedFile, ...]
    lines_added: int
    lines_removed: int

    @property
    def lines_changed(self) -> int:
        return self.lines_added + self.lines_removed


def _strip_prefix(name: str) -> str:
    return name[2:] if name[:2] in ("a/", "b/") else name


def _mode_change(info: list[str]) -> str | None:
    old = new = None
    for line in info:
        if line.startswith("old mode "):
            old = line[9:].strip()
        elif line.startswith("new mode "):
            new = line[9:].strip()
    return f"{old}→{new}" if old and new else None


def _changed_file(patched: unidiff.PatchedFile) -> ChangedFile:
    if patched.is_removed_file:
        change, raw_path, raw_old = "deleted", _strip_prefix(patched.source_file), None
    else:
        raw_path = _strip_prefix(patched.target_file)
        raw_old = _strip_prefix(patched.source_file)
        if patched.is_added_file:
            change, raw_old = "added", None
        elif patched.is_rename:
            change = "renamed"
        else:
            change, raw_old = "modified", None
    try:
        path = normalise_path(raw_path)
        old_path = normalise_path(raw_old) if raw_old else None
    except UnsafePathError as exc:
        raise PatchParseError(str(exc)) from None
    info = [str(line) for line in (patched.patch_info or [])]
    return ChangedFile(
        path=path,
        old_path=old_path,
        change=change,
        binary=bool(patched.is_binary_file),
        mode_change=_mode_change(info),
        lines_added=patched.added,
        lines_removed=patched.removed,
    )


def parse_patch(diff_text: str) -> ParsedPatch:
    if "\x00" in diff_text:
        raise PatchParseError("the diff contains a NUL byte")
    try:
        patch_set = unidiff.PatchSet(diff_text)
    except unidiff.UnidiffParseError as exc:
        raise PatchParseError(str(exc)) from None
    if len(patch_set) == 0:
        raise PatchParseError("no file changes found (expected a unified diff, git format)")
    files = tuple(_changed_file(patched) for patched in patch_set)
    return ParsedPatch(
        sha256=hashlib.sha256(diff_text.encode()).hexdigest(),
        files=files,
        lines_added=sum(f.lines_added for f in files),
        lines_removed=sum(f.lines_removed for f in files),
    )
