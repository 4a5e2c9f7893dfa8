"""Repository paths: normalised before matching, matched with gitignore semantics (pathspec).

A path is made repo-relative and canonical first (backslashes → "/", "." and ".." resolved,
leading "/" dropped), so ``x/../docs/a.md``, ``./docs/a.md``, ``docs\\a.md`` and ``/docs/a.md``
all become ``docs/a.md``. A path that escapes the repository or holds a NUL or control
character is refused. Case-insensitive projects match with ``re.IGNORECASE``.
"""

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

from autopack_site.api.inputs import BIDI_CONTROL_CHARS

# C0 controls, DEL, and the bidirectional controls that make a path read as another.
_CONTROL = re.compile(f"[\x00-\x1f\x7f{BIDI_CONTROL_CHARS}]")
_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafePathError(ValueError):
    """The path cannot be governed safely (escapes the repository, NUL, control characters)."""


class InvalidPatternError(ValueError):
    def __init__(self, pattern: str, reason: str):
        super().__init__(f"{pattern!r}: {reason}")
        self.pattern = pattern
        self.reason = reason


def normalise_path(raw: str) -> str:
    if not raw or not raw.strip():
        raise UnsafePathError("empty path")
    if _CONTROL.search(raw):
        raise UnsafePathError(f"control character or NUL in path {raw!r}")
    path = raw.replace("\\", "/")
    if _DRIVE.match(path):
        raise UnsafePathError(f"drive-qualified path {raw!r}")
    if _escapes(path):
        raise UnsafePathError(f"path escapes the repository: {raw!r}")
    path = posixpath.normpath("/" + path.lstrip("/")).lstrip("/")
    if not path:
        raise UnsafePathError(f"path names the repository root: {raw!r}")
    return path


def _escapes(raw: str) -> bool:
    depth = 0
    for part in raw.split("/"):
        if part in ("", "."):
            continue
        depth = depth - 1 if part == ".." else depth + 1
        if depth < 0:
            return True
    return False


def validate_patterns(patterns: Iterable[str]) -> list[str]:
    """Refuses what gitignore syntax would not mean as a plain match list (negation, NUL...)."""
    checked = []
    for pattern in patterns:
        text = pattern.strip()
        if not text:
            raise InvalidPatternError(pattern, "empty pattern")
        if text.startswith("!"):
            raise InvalidPatternError(pattern, "negation patterns are not allowed")
        if text.startswith("#"):
            raise InvalidPatternError(pattern, "a comment is not a pattern")
        if _CONTROL.search(text):
            raise InvalidPatternError(pattern, "control character or NUL in pattern")
        if "\\" in text:
            raise InvalidPatternError(pattern, "use '/' as the path separator")
        try:
            regex, include = GitIgnoreSpecPattern.pattern_to_regex(text)
            if regex is None or not include:
                raise InvalidPatternError(pattern, "pattern matches nothing")
            re.compile(regex)
        except (ValueError, re.error) as exc:
            if isinstance(exc, InvalidPatternError):
                raise
            raise InvalidPatternError(pattern, str(exc)) from None
        checked.append(text)
    return checked


@dataclass(frozen=True)
class CompiledPathRules:
    """All patterns of one category as one regex; ``first_match`` names the pattern that hit."""

    patterns: tuple[str, ...]
    regex: re.Pattern[str] | None

    @classmethod
    def build(cls, patterns: Sequence[str], *, case_insensitive: bool) -> "CompiledPathRules":
        checked = tuple(validate_patterns(patterns))
        if not checked:
            return cls(patterns=(), regex=None)
        alternatives = []
        for index, pattern in enumerate(checked):
            regex, _include = GitIgnoreSpecPattern.pattern_to_regex(pattern)
            body = regex.replace("(?P<ps_d>", "(?:")
            alternatives.append(f"(?P<p{index}>{body})")
        flags = re.IGNORECASE if case_insensitive else 0
        return cls(patterns=checked, regex=re.compile("|".join(alternatives), flags))

    def first_match(self, path: str) -> str | None:
        if self.regex is None:
            return None
        found = self.regex.match(path)
        if found is None:
            return None
        return self.patterns[int(found.lastgroup[1:])]
