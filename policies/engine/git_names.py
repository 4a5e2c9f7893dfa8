"""Which files a diff names, read the way ``git apply`` (default ``-p1``) reads them.

unidiff splits a diff into files and hunks; the names it reports are the raw text after
``---``/``+++`` or in the ``diff --git`` line. A policy decided on that raw text can be talked
round by spelling: ``--- "a/.env"`` (C-style quoting, octal escapes), ``i/``/``w/`` prefixes,
``b/.env~`` beside ``a/.env``, a date after the name, a rename or copy that has no ``---``
lines at all. This module follows git's apply.c name rules (``git_header_name``,
``find_name``, ``find_name_traditional``, ``guess_p_value``, the extended header table), so the
name decided on is the name git would write.
"""

import re
from dataclasses import dataclass

DEV_NULL = "/dev/null"
# Where a name's text ends: at a tab (---/+++ lines) or only at the end of the line (rename
# and copy lines); git also stops on CR (and the path check refuses one anyway).
TERM_TAB = re.compile("[\t\r\n]")
TERM_EOL = re.compile("[\r\n]")
_SEPARATOR = re.compile("[ \t]")
_SLASHES = re.compile("/{2,}")
# GNU/POSIX diff timestamps after a name ("2010-07-05 19:41:17.620000023 -0500").
_TIMESTAMP = re.compile(
    r"[ \t]+\d{4}-\d{2}-\d{2}[ \t]+\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[ \t]+[-+]\d{4})?$"
)
_KNOWN_HEADERS = ("old mode ", "new mode ", "similarity index ", "dissimilarity index ", "index ")
# Every line git reads as part of a diff --git header (apply.c's optable).
GIT_HEADER_PREFIXES = (
    "--- ",
    "+++ ",
    "deleted file mode ",
    "new file mode ",
    "copy from ",
    "copy to ",
    "rename from ",
    "rename to ",
    "rename old ",
    "rename new ",
    *_KNOWN_HEADERS,
)
_EPOCH = re.compile(r"1970-01-01[ \t]+00:00:00|1969-12-31[ \t]+")
_C_ESCAPES = {
    "a": 7,
    "b": 8,
    "f": 12,
    "n": 10,
    "r": 13,
    "t": 9,
    "v": 11,
    "\\": 92,
    '"': 34,
}


class GitNameError(ValueError):
    """git apply would refuse this header; so do we."""


@dataclass
class FileNames:
    old: str | None = None
    new: str | None = None
    is_new: bool = False
    is_delete: bool = False
    is_rename: bool = False
    is_copy: bool = False


def unquote_c_style(text: str) -> tuple[str, int] | None:
    """git's quote.c: ``"a/caf\\303\\251"`` → ("a/café", index past the closing quote)."""
    if not text.startswith('"'):
        return None
    out = bytearray()
    index = 1
    while index < len(text):
        char = text[index]
        index += 1
        if char == '"':
            try:
                return out.decode("utf-8"), index
            except UnicodeDecodeError:
                raise GitNameError("a quoted path is not UTF-8") from None
        if char != "\\":
            out += char.encode("utf-8")
            continue
        if index >= len(text):
            return None
        escape = text[index]
        index += 1
        if escape in _C_ESCAPES:
            out.append(_C_ESCAPES[escape])
        elif escape in "0123":
            digits = text[index - 1 : index + 2]
            if len(digits) != 3 or any(digit not in "01234567" for digit in digits):
                return None
            out.append(int(digits, 8))
            index += 2
        else:
            return None
    return None


def _squash_slash(name: str | None) -> str | None:
    return _SLASHES.sub("/", name) if name and "//" in name else name


def skip_tree_prefix(p_value: int, name: str) -> str | None:
    """Drop ``p_value`` leading components; None for an absolute path or too few slashes."""
    if p_value == 0:
        return None if name.startswith("/") else name
    slash = -1
    for _ in range(p_value):
        slash = name.find("/", slash + 1)
        if slash < 0:
            return None
    return None if slash == 0 else name[slash + 1 :]


def git_header_name(p_value: int, rest: str) -> str | None:
    """The name on a ``diff --git`` line when both sides agree (git's ``git_header_name``)."""
    if rest.startswith('"'):
        first = unquote_c_style(rest)
        if first is None:
            return None
        name, end = first
        name = skip_tree_prefix(p_value, name)
        if name is None:
            return None
        second = rest[end:].lstrip(" \t")
        if not second:
            return None
        if second.startswith('"'):
            other = unquote_c_style(second)
            if other is None:
                return None
            other_name = skip_tree_prefix(p_value, other[0])
            return name if other_name == name else None
        other_name = skip_tree_prefix(p_value, second)
        return name if other_name == name else None
    name = skip_tree_prefix(p_value, rest)
    if name is None:
        return None
    quote = name.find('"')
    if quote >= 0:
        other = unquote_c_style(name[quote:])
        if other is None:
            return None
        other_name = skip_tree_prefix(p_value, other[0])
        if other_name is None:
            return None
        size = len(other_name)
        if size < quote and name.startswith(other_name) and name[size] in " \t":
            return other_name
        return None
    # Unquoted on both sides: accept only a name that shows up twice in exactly the same form.
    for separator in _SEPARATOR.finditer(name):
        index = separator.start()
        if index + 1 >= len(name):
            return None
        second = skip_tree_prefix(p_value, name[index + 1 :])
        if second is None:
            return None
        if second == name[:index]:
            return name[:index]
    return None


def _is_dev_null(text: str) -> bool:
    return text.startswith(DEV_NULL) and (len(text) == len(DEV_NULL) or text[9].isspace())


def _find_name_common(
    text: str, default: str | None, p_value: int, terminators: re.Pattern[str] | None
) -> str | None:
    if terminators is not None:
        stop = terminators.search(text)
        text = text[: stop.start()] if stop else text
    start = 0
    for _ in range(p_value):
        slash = text.find("/", start)
        if slash < 0:
            return _squash_slash(default)
        start = slash + 1
    name = text[start:]
    if not name:
        return _squash_slash(default)
    # git prefers the shorter name when the other is it plus a suffix ("file.orig", "file~").
    if default and len(default) < len(name) and name.startswith(default):
        return _squash_slash(default)
    return _squash_slash(name)


def _find_name_gnu(text: str, p_value: int) -> str | None:
    unquoted = unquote_c_style(text)
    if unquoted is None:
        return None
    name = unquoted[0]
    for _ in range(p_value):
        slash = name.find("/")
        if slash < 0:
            return None
        name = name[slash + 1 :]
    return _squash_slash(name)


def find_name(
    text: str, default: str | None, p_value: int, terminators: re.Pattern[str]
) -> str | None:
    if text.startswith('"'):
        name = _find_name_gnu(text, p_value)
        if name is not None:
            return name
    return _find_name_common(text, default, p_value, terminators)


def find_name_traditional(text: str, default: str | None, p_value: int) -> str | None:
    if text.startswith('"'):
        name = _find_name_gnu(text, p_value)
        if name is not None:
            return name
    line = text.split("\n", 1)[0]
    stamp = _TIMESTAMP.search(line)
    if stamp is None:
        return _find_name_common(line, default, p_value, TERM_TAB)
    return _find_name_common(line[: stamp.start()], default, p_value, None)


def _guess_p_value(text: str) -> int:
    """git's guess for a traditional patch applied at the top of the repository."""
    if _is_dev_null(text):
        return -1
    name = find_name_traditional(text, None, 0)
    if not name:
        return -1
    return 0 if "/" not in name else -1


class GitNameReader:
    """One per diff: git carries a guessed ``-p`` from one traditional file to the next."""

    def __init__(self) -> None:
        self.p_value = 1
        self.p_value_known = False

    def traditional(self, first: str, second: str) -> FileNames:
        """Names from a ``--- first`` / ``+++ second`` pair with no ``diff --git`` line."""
        if not self.p_value_known:
            p, q = _guess_p_value(first), _guess_p_value(second)
            if p < 0:
                p = q
            if p >= 0 and p == q:
                self.p_value, self.p_value_known = p, True
        names = FileNames()
        if _is_dev_null(first):
            names.is_new = True
            names.new = find_name_traditional(second, None, self.p_value)
            name = names.new
        elif _is_dev_null(second):
            names.is_delete = True
            names.old = find_name_traditional(first, None, self.p_value)
            name = names.old
        else:
            first_name = find_name_traditional(first, None, self.p_value)
            name = find_name_traditional(second, first_name, self.p_value)
            if _EPOCH.search(first):
                names.is_new, names.new = True, name
            elif _EPOCH.search(second):
                names.is_delete, names.old = True, name
            else:
                names.old = names.new = name
        if not name:
            raise GitNameError("no file name in a ---/+++ header")
        return names

    def git(self, header: str, extended: list[str]) -> FileNames:
        """Names from a ``diff --git`` line and the extended header lines after it."""
        p_value = self.p_value
        default = git_header_name(p_value, header[len("diff --git ") :].rstrip("\n"))
        names = FileNames()
        for raw in extended:
            line = raw.rstrip("\n")
            if line.startswith("@@ -"):
                break
            if line.startswith("--- "):
                self._verify(names, "old", line[4:], names.is_new, p_value)
            elif line.startswith("+++ "):
                self._verify(names, "new", line[4:], names.is_delete, p_value)
            elif line.startswith("deleted file mode "):
                names.is_delete, names.old = True, default
            elif line.startswith("new file mode "):
                names.is_new, names.new = True, default
            elif line.startswith(("copy from ", "copy to ", "rename from ", "rename to ")):
                verb, _, rest = line.partition(" ")
                direction, _, text = rest.partition(" ")
                name = find_name(text, None, max(p_value - 1, 0), TERM_EOL)
                setattr(names, "old" if direction == "from" else "new", name)
                names.is_copy |= verb == "copy"
                names.is_rename |= verb == "rename"
            elif line.startswith(("rename old ", "rename new ")):
                name = find_name(line[11:], None, max(p_value - 1, 0), TERM_EOL)
                setattr(names, "old" if line[7:10] == "old" else "new", name)
                names.is_rename = True
            elif not line.startswith(_KNOWN_HEADERS):
                break  # git stops reading the header at the first line it does not know
            if names.is_new and names.is_delete:
                raise GitNameError("a file cannot be both new and deleted")
        if names.old is None and names.new is None:
            if default is None:
                raise GitNameError("a diff --git header without a file name git can read")
            names.old = names.new = default
        if (names.new is None and not names.is_delete) or (names.old is None and not names.is_new):
            raise GitNameError("a diff --git header lacks file name information")
        return names

    @staticmethod
    def _verify(names: FileNames, side: str, text: str, is_null: bool, p_value: int) -> None:
        current = getattr(names, side)
        if current is None and not is_null:
            setattr(names, side, find_name(text, None, p_value, TERM_TAB))
        elif current is not None:
            if is_null:
                raise GitNameError(f"expected /dev/null, got {current}")
            if find_name(text, None, p_value, TERM_TAB) != current:
                raise GitNameError(f"inconsistent {side} file name")
        elif not _is_dev_null(text):
            raise GitNameError("expected /dev/null")
