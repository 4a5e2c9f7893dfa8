"""Unified diffs (git format) → the files they change: unidiff splits files and hunks, and
git_names reads each file's names the way ``git apply`` does, so the path decided on is the
path git would write whatever the spelling."""

import hashlib
import io
from dataclasses import dataclass

import unidiff

from policies.engine.git_names import (
    GIT_HEADER_PREFIXES,
    TERM_TAB,
    FileNames,
    GitNameError,
    GitNameReader,
    find_name,
)
from policies.engine.paths import UnsafePathError, normalise_path


class PatchParseError(ValueError):
    pass


@dataclass(frozen=True)
class ChangedFile:
    path: str
    old_path: str | None
    change: str  # added | deleted | modified | renamed | copied
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


def _mode_change(header: list[str]) -> str | None:
    old = new = None
    for line in header:
        if line.startswith("old mode "):
            old = line[9:].strip()
        elif line.startswith("new mode "):
            new = line[9:].strip()
    return f"{old}→{new}" if old and new else None


def _names(
    patched: unidiff.PatchedFile, lines: list[str], reader: GitNameReader
) -> tuple[FileNames, list[str]]:
    """The file's names as git reads them, and its header lines (for the mode change)."""
    at = patched.diff_line_no - 1
    line = lines[at]
    if line.startswith("diff --git "):
        header = []
        end = at + 1
        # git stops reading the header at the first line it does not know
        while end < len(lines) and lines[end].startswith(GIT_HEADER_PREFIXES):
            header.append(lines[end].rstrip("\n"))
            end += 1
        return reader.git(line, header), header
    if line.startswith("+++ "):
        first = next((lines[i] for i in range(at - 1, -1, -1) if lines[i].startswith("--- ")), None)
        if first is None:
            raise GitNameError("a +++ line without its --- line")
        return reader.traditional(first[4:], line[4:]), []
    # "Binary files X and Y differ" outside a git diff: git applies nothing, read it as -p1.
    source = find_name(patched.source_file or "", None, 1, TERM_TAB)
    target = find_name(patched.target_file or "", None, 1, TERM_TAB)
    return FileNames(old=source or target, new=target or source), []


def _change(names: FileNames) -> str:
    if names.is_new:
        return "added"
    if names.is_delete:
        return "deleted"
    if names.is_copy:
        return "copied"
    if names.is_rename or names.old != names.new:
        return "renamed"
    return "modified"


def _changed_file(
    patched: unidiff.PatchedFile, lines: list[str], reader: GitNameReader
) -> ChangedFile:
    try:
        names, header = _names(patched, lines, reader)
        change = _change(names)
        path = normalise_path(names.new if names.new is not None else names.old)
        old_path = (
            normalise_path(names.old) if change in ("renamed", "copied") and names.old else None
        )
    except (GitNameError, UnsafePathError, TypeError) as exc:
        raise PatchParseError(str(exc) or "a file name git could not read") from None
    return ChangedFile(
        path=path,
        old_path=old_path,
        change=change,
        binary=bool(patched.is_binary_file),
        mode_change=_mode_change(header),
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
    lines = io.StringIO(diff_text).readlines()  # split as unidiff splits, so line numbers agree
    reader = GitNameReader()
    files = tuple(_changed_file(patched, lines, reader) for patched in patch_set)
    return ParsedPatch(
        sha256=hashlib.sha256(diff_text.encode()).hexdigest(),
        files=files,
        lines_added=sum(f.lines_added for f in files),
        lines_removed=sum(f.lines_removed for f in files),
    )
