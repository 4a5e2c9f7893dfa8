"""A denied or protected path cannot come back `allow` by how the diff spells it.

Each spelling of each kind of change is applied with the real ``git apply`` in a temporary
repository; the files git wrote must be exactly the files the policy decided on, and the
outcome must equal the plain ``a/ b/`` spelling's.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from policies.engine import TEMPLATES, compile_policy, decide_patch, parse_patch

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

DENIED = ("downstream", ".env", "deny")  # template, an existing path, the plain outcome
PROTECTED = ("autopack", "src/autopack/core.py", "require_approval")
UNICODE_PROTECTED = ("autopack", "src/autopack/café.py", "require_approval")
NEW_DENIED = ("downstream", "keys/deploy.pem", "deny")
NEW_PROTECTED = ("autopack", "src/autopack/new.py", "require_approval")
EXISTING = {
    ".env": "SECRET=1\n",
    "src/autopack/core.py": "VALUE = 1\n",
    "src/autopack/café.py": "VALUE = 1\n",
    "README.md": "hello\n",
}
PREFIXES = {"a/b": ("a/", "b/"), "i/w": ("i/", "w/"), "c/i": ("c/", "i/"), "o/w": ("o/", "w/")}


def c_quoted(name: str, *, octal_everything: bool = False) -> str:
    """git's C-style quoting; with octal_everything every byte is written as \\ooo."""
    out = []
    for byte in name.encode():
        if octal_everything or byte >= 0x80 or byte < 0x20:
            out.append(f"\\{byte:03o}")
        elif chr(byte) in '"\\':
            out.append("\\" + chr(byte))
        else:
            out.append(chr(byte))
    return '"' + "".join(out) + '"'


def spelled(prefix: str, path: str, spelling: str) -> str:
    if path == "/dev/null":
        return path
    if spelling == "quoted":
        return c_quoted(prefix + path)
    if spelling == "octal":
        return c_quoted(prefix + path, octal_everything=True)
    return prefix + path


GIT_SPELLINGS = [
    (prefixes, quoting) for prefixes in PREFIXES for quoting in ("plain", "quoted", "octal")
]


def git_diff(kind: str, path: str, prefixes: str, quoting: str, other: str = "README.md") -> str:
    old_prefix, new_prefix = PREFIXES[prefixes]

    def pair(old: str, new: str) -> str:
        return f"{spelled(old_prefix, old, quoting)} {spelled(new_prefix, new, quoting)}"

    def dashes(old: str, new: str) -> str:
        return f"--- {spelled(old_prefix, old, quoting)}\n+++ {spelled(new_prefix, new, quoting)}\n"

    if kind == "modify":
        hunk = f"@@ -1 +1 @@\n-{EXISTING[path]}+CHANGED\n"
        return f"diff --git {pair(path, path)}\n{dashes(path, path)}{hunk}"
    if kind == "add":
        return (
            f"diff --git {pair(path, path)}\nnew file mode 100644\n"
            f"--- /dev/null\n+++ {spelled(new_prefix, path, quoting)}\n@@ -0,0 +1 @@\n+NEW\n"
        )
    if kind == "delete":
        return (
            f"diff --git {pair(path, path)}\ndeleted file mode 100644\n"
            f"--- {spelled(old_prefix, path, quoting)}\n+++ /dev/null\n"
            f"@@ -1 +0,0 @@\n-{EXISTING[path]}"
        )
    if kind == "mode":
        return f"diff --git {pair(path, path)}\nold mode 100644\nnew mode 100755\n"
    bare = spelled("", path, quoting)
    bare_other = spelled("", other, quoting)
    if kind == "rename_into":
        return (
            f"diff --git {pair(other, path)}\nsimilarity index 100%\n"
            f"rename from {bare_other}\nrename to {bare}\n"
        )
    if kind == "rename_out":
        return (
            f"diff --git {pair(path, other)}\nsimilarity index 100%\n"
            f"rename from {bare}\nrename to {bare_other}\n"
        )
    if kind == "copy_into":
        return (
            f"diff --git {pair(other, path)}\nsimilarity index 100%\n"
            f"copy from {bare_other}\ncopy to {bare}\n"
        )
    if kind == "copy_out":
        return (
            f"diff --git {pair(path, other)}\nsimilarity index 100%\n"
            f"copy from {bare}\ncopy to {bare_other}\n"
        )
    raise AssertionError(kind)


def traditional_diff(kind: str, path: str, spelling: str) -> str:
    """No diff --git line: what GNU diff or a hand-made patch looks like."""
    old = {"quoted": '"a/{}"', "i/w": "i/{}", "tilde": "a/{}", "stamp": "a/{}"}[spelling]
    new = {"quoted": '"b/{}"', "i/w": "w/{}", "tilde": "b/{}~", "stamp": "b/{}"}[spelling]
    stamp = " 2024-01-02 03:04:05.000000000 +0000" if spelling == "stamp" else ""
    if kind == "modify":
        return (
            f"--- {old.format(path)}{stamp}\n+++ {new.format(path)}{stamp}\n"
            f"@@ -1 +1 @@\n-{EXISTING[path]}+CHANGED\n"
        )
    if kind == "add":
        return f"--- /dev/null\n+++ {new.format(path)}{stamp}\n@@ -0,0 +1 @@\n+NEW\n"
    if kind == "delete":
        return f"--- {old.format(path)}{stamp}\n+++ /dev/null\n@@ -1 +0,0 @@\n-{EXISTING[path]}"
    raise AssertionError(kind)


def git(repo: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        **kwargs,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for path, text in EXISTING.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "core.filemode", "true")
    git(tmp_path, "config", "core.quotepath", "false")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "start")
    return tmp_path


def written_by_git(repo: Path, diff: str) -> set[str]:
    git(repo, "apply", "-", input=diff.encode())
    status = git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=all").stdout
    return {entry[3:] for entry in status.decode().split("\0") if entry}


def decided(template: str, diff: str) -> tuple[str, set[str], set[str]]:
    """The outcome, the paths decided on, and those plus the old names of renames/copies."""
    policy = compile_policy(TEMPLATES[template])
    decision = decide_patch(policy, parse_patch(diff), first_run=False)
    paths = {entry["path"] for entry in decision.files}
    old = {entry["old_path"] for entry in decision.files if entry["old_path"]}
    return decision.outcome.value, paths, paths | old


def check(repo: Path, template: str, expected: str, plain: str, diff: str) -> set[str]:
    """git writes exactly the files the policy decided on; the outcome is the plain one's."""
    outcome, paths, matched = decided(template, diff)
    assert outcome == expected == decided(template, plain)[0], diff
    written = written_by_git(repo, diff)
    assert written <= matched, (written, matched, diff)
    assert paths <= written | (matched - paths), (paths, written, diff)
    return written


CASES = [
    ("modify", DENIED),
    ("modify", PROTECTED),
    ("modify", UNICODE_PROTECTED),
    ("delete", DENIED),
    ("delete", PROTECTED),
    ("add", NEW_DENIED),
    ("add", NEW_PROTECTED),
    ("mode", DENIED),
    ("mode", PROTECTED),
]


@pytest.mark.parametrize(("prefixes", "quoting"), GIT_SPELLINGS)
@pytest.mark.parametrize(("kind", "target"), CASES, ids=lambda value: str(value))
def test_git_format_spellings_decide_like_a_b(repo, kind, target, prefixes, quoting):
    template, path, expected = target
    plain = git_diff(kind, path, "a/b", "plain")
    check(repo, template, expected, plain, git_diff(kind, path, prefixes, quoting))


@pytest.mark.parametrize(("prefixes", "quoting"), GIT_SPELLINGS)
@pytest.mark.parametrize("kind", ["rename_into", "rename_out", "copy_into", "copy_out"])
@pytest.mark.parametrize("target", [DENIED, PROTECTED], ids=["denied", "protected"])
def test_renames_and_copies_are_decided_on_both_names(repo, kind, target, prefixes, quoting):
    template, path, expected = target
    if kind.endswith("_into"):
        (repo / path).unlink()
        git(repo, "commit", "-qam", "make room")
    other = "moved.md" if kind.endswith("_out") else "README.md"
    plain = git_diff(kind, path, "a/b", "plain", other=other)
    written = check(repo, template, expected, plain, git_diff(kind, path, prefixes, quoting, other))
    # A copy out of a denied file writes only the copy; the source is read, and decided on.
    assert path in written or kind == "copy_out"


@pytest.mark.parametrize("spelling", ["quoted", "i/w", "tilde", "stamp"])
@pytest.mark.parametrize(
    ("kind", "target"),
    [("modify", DENIED), ("modify", PROTECTED), ("delete", DENIED), ("add", NEW_DENIED)],
    ids=lambda value: str(value),
)
def test_traditional_spellings_decide_like_a_b(repo, kind, target, spelling):
    template, path, expected = target
    if kind == "add" and spelling == "tilde":
        pytest.skip("an added file has no old name to prefer")
    plain = git_diff(kind, path, "a/b", "plain")
    check(repo, template, expected, plain, traditional_diff(kind, path, spelling))


@pytest.mark.parametrize(("prefixes", "quoting"), GIT_SPELLINGS)
@pytest.mark.parametrize("target", [NEW_DENIED, NEW_PROTECTED], ids=["denied", "protected"])
def test_binary_patches_decide_like_a_b(repo, tmp_path_factory, target, prefixes, quoting):
    template, path, expected = target
    scratch = tmp_path_factory.mktemp("binary")
    git(scratch, "init", "-q")
    (scratch / path).parent.mkdir(parents=True, exist_ok=True)
    (scratch / path).write_bytes(bytes(range(256)))
    git(scratch, "add", "-A")
    plain = git(scratch, "diff", "--cached", "--binary").stdout.decode()
    old_prefix, new_prefix = PREFIXES[prefixes]
    first, rest = plain.split("\n", 1)
    assert first == f"diff --git a/{path} b/{path}"
    header = f"diff --git {spelled(old_prefix, path, quoting)} {spelled(new_prefix, path, quoting)}"
    diff = header + "\n" + rest
    check(repo, template, expected, plain, diff)


def test_the_reported_bypasses_are_closed():
    downstream = compile_policy(TEMPLATES["downstream"])
    autopack = compile_policy(TEMPLATES["autopack"])
    quoted_env = '--- "a/.env"\n+++ "b/.env"\n@@ -1 +1 @@\n-a\n+b\n'
    mnemonic = "--- i/src/autopack/core.py\n+++ w/src/autopack/core.py\n@@ -1 +1 @@\n-a\n+b\n"
    assert decide_patch(downstream, parse_patch(quoted_env), first_run=False).outcome.value == (
        "deny"
    )
    assert decide_patch(autopack, parse_patch(mnemonic), first_run=False).outcome.value == (
        "require_approval"
    )
    assert parse_patch(mnemonic).files[0].path == "src/autopack/core.py"


@pytest.mark.parametrize("control", ["\u202e", "\u2066", "\u202a"])
def test_bidi_controls_in_paths_are_refused(control):
    from policies.engine import PatchParseError

    diff = f"--- a/docs/{control}x.md\n+++ b/docs/{control}x.md\n@@ -1 +1 @@\n-a\n+b\n"
    with pytest.raises(PatchParseError):
        parse_patch(diff)
