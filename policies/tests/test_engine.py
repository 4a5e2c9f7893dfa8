"""The decision engine, pure: paths, patterns, diffs, action rules, patch risk, templates."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from policies.engine import (
    TEMPLATES,
    ActionRequest,
    ActionRule,
    Effect,
    InvalidPatternError,
    PatchParseError,
    PolicySpec,
    PolicyValidationError,
    SafetyProfile,
    UnsafePathError,
    compile_policy,
    decide_action,
    decide_patch,
    normalise_path,
    parse_patch,
    validate_patterns,
)


def diff_for(path: str, added: int = 1, *, header_path: str | None = None) -> str:
    name = header_path or path
    body = "".join(f"+line {i}\n" for i in range(added))
    return (
        f"diff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n"
        f"@@ -1 +1,{added + 1} @@\n context\n{body}"
    )


def rule(n, provider, action, effect, **extra) -> ActionRule:
    return ActionRule(
        rule_id=f"rule-{n}", provider_glob=provider, action_glob=action, effect=effect, **extra
    )


# --- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["x/../docs/a.md", "./docs/a.md", "docs\\a.md", "/docs/a.md", "docs//a.md"]
)
def test_path_spellings_normalise_to_the_same_path(raw):
    assert normalise_path(raw) == "docs/a.md"


@pytest.mark.parametrize("raw", ["../docs/a.md", "docs/\x00a.md", "a/../../x", "C:/x", "", "."])
def test_unsafe_paths_are_refused(raw):
    with pytest.raises(UnsafePathError):
        normalise_path(raw)


@pytest.mark.parametrize("raw", ["x/../docs/a.md", "./docs/a.md", "docs\\a.md", "/docs/a.md"])
def test_protected_path_attacks_still_match(raw):
    policy = compile_policy(PolicySpec(version=1, protected_paths=("docs/",)))
    decision = decide_patch(policy, parse_patch(diff_for(raw)), first_run=False)
    assert decision.outcome is Effect.REQUIRE_APPROVAL
    assert decision.files[0]["path"] == "docs/a.md"
    assert {"category": "protected", "pattern": "docs/", "path": "docs/a.md"} in decision.files[0][
        "matched"
    ]


def test_paths_match_in_any_case_unless_the_policy_says_the_filesystem_is_case_sensitive():
    spec = dict(version=1, protected_paths=("docs/",), safety_profile=SafetyProfile.NORMAL)
    sensitive = compile_policy(PolicySpec(**spec, case_insensitive_paths=False))
    insensitive = compile_policy(PolicySpec(**spec))
    patch = parse_patch(diff_for("DOCS/a.md"))
    assert decide_patch(sensitive, patch, first_run=False).outcome is Effect.ALLOW
    assert decide_patch(insensitive, patch, first_run=False).outcome is Effect.REQUIRE_APPROVAL


def test_diff_with_nul_or_escaping_path_is_a_parse_error():
    with pytest.raises(PatchParseError, match="NUL"):
        parse_patch(diff_for("docs/a\x00.md"))
    with pytest.raises(PatchParseError, match="escapes"):
        parse_patch(diff_for("../outside.md"))


@pytest.mark.parametrize("pattern", ["!docs/", "", "# comment", "docs\\x", "a\x00b"])
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(InvalidPatternError):
        validate_patterns([pattern])


def test_compile_reports_every_bad_pattern_and_glob():
    spec = PolicySpec(
        version=1,
        protected_paths=("!keep/",),
        action_rules=(rule(1, "you tube", "*", Effect.ALLOW),),
    )
    with pytest.raises(PolicyValidationError) as caught:
        compile_policy(spec)
    assert len(caught.value.errors) == 2


def test_gitignore_semantics():
    policy = compile_policy(
        PolicySpec(
            version=1,
            protected_paths=("/config/", "src/**/*.py", "*.pem"),
            safety_profile=SafetyProfile.NORMAL,
        )
    )
    hits = {
        path: policy.protected.first_match(path)
        for path in ["config/a.yml", "app/config/a.yml", "src/x/y/z.py", "a/b/key.pem", "src/a.txt"]
    }
    assert hits == {
        "config/a.yml": "/config/",
        "app/config/a.yml": None,
        "src/x/y/z.py": "src/**/*.py",
        "a/b/key.pem": "*.pem",
        "src/a.txt": None,
    }


# --- diffs -----------------------------------------------------------------------------------

GIT_DIFF = """diff --git a/old.txt b/new.txt
similarity index 100%
rename from old.txt
rename to new.txt
diff --git a/bin.png b/bin.png
index 1111111..2222222 100644
Binary files a/bin.png and b/bin.png differ
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git a/gone.py b/gone.py
deleted file mode 100644
index 1111111..0000000
--- a/gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
diff --git a/docs/x.md b/docs/x.md
new file mode 100644
index 0000000..2222222
--- /dev/null
+++ b/docs/x.md
@@ -0,0 +1,2 @@
+a
+b
"""


def test_git_diff_renames_binaries_modes_deletes():
    parsed = parse_patch(GIT_DIFF)
    files = {f.path: f for f in parsed.files}
    assert files["new.txt"].change == "renamed" and files["new.txt"].old_path == "old.txt"
    assert files["bin.png"].binary
    assert files["run.sh"].mode_change == "100644→100755"
    assert files["gone.py"].change == "deleted" and files["gone.py"].lines_removed == 2
    assert files["docs/x.md"].change == "added" and files["docs/x.md"].lines_added == 2
    assert (parsed.lines_added, parsed.lines_removed) == (2, 2)
    assert len(parsed.sha256) == 64


@pytest.mark.parametrize("text", ["hello world", "@@ -1 +1 @@\n-a\n"])
def test_not_a_diff_is_a_parse_error(text):
    with pytest.raises(PatchParseError):
        parse_patch(text)


def test_rename_out_of_a_protected_path_is_caught():
    policy = compile_policy(
        PolicySpec(version=1, protected_paths=("docs/",), safety_profile=SafetyProfile.NORMAL)
    )
    text = (
        "diff --git a/docs/a.md b/notes/a.md\nsimilarity index 100%\n"
        "rename from docs/a.md\nrename to notes/a.md\n"
    )
    decision = decide_patch(policy, parse_patch(text), first_run=False)
    assert decision.outcome is Effect.REQUIRE_APPROVAL


# --- patch decisions -------------------------------------------------------------------------


def normal(**extra) -> PolicySpec:
    return PolicySpec(
        version=3, safety_profile=SafetyProfile.NORMAL, first_run_requires_approval=True, **extra
    )


def test_small_patch_outside_rules_is_allowed_on_normal():
    decision = decide_patch(
        compile_policy(normal()), parse_patch(diff_for("app/a.py", 3)), first_run=False
    )
    assert decision.outcome is Effect.ALLOW
    assert decision.policy_version == 3
    assert [f["factor"] for f in decision.risk_factors] == [
        "scope",
        "protected",
        "category",
        "cross_cutting",
    ]
    assert [f["weight"] for f in decision.risk_factors] == [0.3, 0.4, 0.2, 0.1]


def test_denied_beats_everything():
    policy = compile_policy(normal(denied_paths=("*.pem",), auto_approvable_paths=("*",)))
    decision = decide_patch(policy, parse_patch(diff_for("keys/a.pem")), first_run=False)
    assert decision.outcome is Effect.DENY
    assert decision.reasons[0]["code"] == "path_denied"


def test_first_run_lines_and_risk_each_require_approval():
    policy = compile_policy(normal(max_auto_approve_lines=10))
    first = decide_patch(policy, parse_patch(diff_for("app/a.py")), first_run=True)
    assert [r["code"] for r in first.reasons] == ["first_run"]
    big = decide_patch(policy, parse_patch(diff_for("app/a.py", 20)), first_run=False)
    assert "too_many_lines" in [r["code"] for r in big.reasons]
    assert big.hint.startswith("Split the patch")
    cautious = compile_policy(normal(max_auto_approve_risk=0.1))
    risky = decide_patch(
        cautious, parse_patch(diff_for(".github/workflows/ci.yml", 2)), first_run=False
    )
    assert risky.risk_score > 0.1
    assert [r["code"] for r in risky.reasons] == ["risk_above_threshold"]


def test_strict_profile_needs_auto_approvable_paths():
    spec = dict(version=1, auto_approvable_paths=("src/",), first_run_requires_approval=False)
    policy = compile_policy(PolicySpec(**spec))
    inside = decide_patch(policy, parse_patch(diff_for("src/a.py")), first_run=False)
    outside = decide_patch(policy, parse_patch(diff_for("lib/a.py")), first_run=False)
    assert inside.outcome is Effect.ALLOW
    assert outside.outcome is Effect.REQUIRE_APPROVAL
    assert outside.reasons[0]["code"] == "strict_not_auto_approvable"


def test_autopack_template_protects_its_own_paths():
    policy = compile_policy(TEMPLATES["autopack"])
    for path in [
        "docs/a.md",
        "config/x.yml",
        ".github/ci.yml",
        "src/autopack/core.py",
        "tests/t.py",
    ]:
        decision = decide_patch(policy, parse_patch(diff_for(path)), first_run=False)
        assert decision.outcome is Effect.REQUIRE_APPROVAL, path
    ok = decide_patch(policy, parse_patch(diff_for("src/tools/x.py")), first_run=False)
    assert ok.outcome is Effect.ALLOW
    first = decide_patch(policy, parse_patch(diff_for("src/tools/x.py")), first_run=True)
    assert first.outcome is Effect.REQUIRE_APPROVAL


# --- action decisions ------------------------------------------------------------------------


def policy_with(*rules, profile=SafetyProfile.NORMAL):
    return compile_policy(PolicySpec(version=7, safety_profile=profile, action_rules=rules))


def test_no_rule_requires_approval_with_a_hint():
    decision = decide_action(policy_with(), ActionRequest("youtube", "videos.insert"))
    assert decision.outcome is Effect.REQUIRE_APPROVAL
    assert decision.reasons[0]["code"] == "no_rule_matched"
    assert "youtube/videos.insert" in decision.hint


def test_deny_beats_require_approval_beats_allow_whatever_the_priority():
    policy = policy_with(
        rule(1, "*", "*", Effect.ALLOW, priority=100),
        rule(2, "shop*", "*.delete", Effect.DENY, priority=-5),
        rule(3, "shopify", "*", Effect.REQUIRE_APPROVAL),
    )
    assert decide_action(policy, ActionRequest("shopify", "product.delete")).outcome is Effect.DENY
    assert (
        decide_action(policy, ActionRequest("shopify", "product.create")).outcome
        is Effect.REQUIRE_APPROVAL
    )
    decision = decide_action(policy, ActionRequest("etsy", "listing.create"))
    assert decision.outcome is Effect.ALLOW
    every = decide_action(policy, ActionRequest("shopify", "product.delete"))
    assert [m["rule"] for m in every.matched_rules] == ["rule-1", "rule-3", "rule-2"]


def test_conditions_downgrade_allow_to_require_approval():
    policy = policy_with(
        rule(
            1,
            "alpaca",
            "orders.create",
            Effect.ALLOW,
            max_amount=Decimal("100"),
            dry_run_required=True,
        )
    )
    small = ActionRequest("alpaca", "orders.create", amount=Decimal("50"), dry_run_done=True)
    assert decide_action(policy, small).outcome is Effect.ALLOW
    big = ActionRequest("alpaca", "orders.create", amount=Decimal("500"), dry_run_done=True)
    decision = decide_action(policy, big)
    assert decision.outcome is Effect.REQUIRE_APPROVAL
    assert "exceeds" in decision.reasons[0]["message"]
    no_dry = ActionRequest("alpaca", "orders.create", amount=Decimal("5"))
    assert "dry run" in decide_action(policy, no_dry).hint


def test_publish_packet_and_fresh_provider_policy_conditions():
    policy = policy_with(
        rule(
            1,
            "youtube",
            "*",
            Effect.ALLOW,
            publish_packet_required=True,
            fresh_provider_policy_required=True,
        )
    )
    bare = decide_action(policy, ActionRequest("youtube", "videos.insert"))
    assert bare.outcome is Effect.REQUIRE_APPROVAL
    ready = ActionRequest(
        "youtube", "videos.insert", publish_packet_approved=True, provider_policy_fresh=True
    )
    assert decide_action(policy, ready).outcome is Effect.ALLOW


def test_expired_override_is_ignored():
    now = datetime(2026, 11, 24, tzinfo=UTC)
    policy = policy_with(
        rule(1, "etsy", "*", Effect.ALLOW, expires_at=now - timedelta(minutes=1)),
    )
    decision = decide_action(policy, ActionRequest("etsy", "listing.create", now=now))
    assert decision.outcome is Effect.REQUIRE_APPROVAL
    live = policy_with(rule(1, "etsy", "*", Effect.ALLOW, expires_at=now + timedelta(hours=1)))
    assert decide_action(live, ActionRequest("etsy", "x", now=now)).outcome is Effect.ALLOW


def test_strict_profile_sends_destructive_allows_to_a_human():
    strict = policy_with(rule(1, "*", "*", Effect.ALLOW), profile=SafetyProfile.STRICT)
    assert decide_action(strict, ActionRequest("s3", "bucket.delete")).outcome is (
        Effect.REQUIRE_APPROVAL
    )
    assert decide_action(strict, ActionRequest("s3", "bucket.read")).outcome is Effect.ALLOW


def test_an_engine_error_requires_approval():
    policy = policy_with(rule(1, "alpaca", "*", Effect.ALLOW, max_amount=Decimal("1")))
    broken = ActionRequest("alpaca", "orders.create", amount="not a number")  # type: ignore[arg-type]
    decision = decide_action(policy, broken)
    assert decision.outcome is Effect.REQUIRE_APPROVAL
    assert decision.reasons[0]["code"] == "engine_error"


def test_downstream_template():
    policy = compile_policy(TEMPLATES["downstream"])
    for provider, action in [
        ("youtube", "videos.insert"),
        ("etsy", "listings.create"),
        ("shopify", "productCreate"),
        ("alpaca", "orders.create"),
        ("github", "repo.delete"),
    ]:
        assert decide_action(policy, ActionRequest(provider, action)).outcome is (
            Effect.REQUIRE_APPROVAL
        ), (provider, action)
    assert decide_action(policy, ActionRequest("webhook", "send", dry_run_done=True)).outcome is (
        Effect.ALLOW
    )


def test_to_dict_is_json_ready():
    import json

    decision = decide_action(policy_with(), ActionRequest("x", "y"))
    body = json.loads(json.dumps(decision.to_dict()))
    assert set(body) == {
        "outcome",
        "policy_version",
        "reasons",
        "matched_rules",
        "overridden_rules",
        "risk",
        "hint",
    }


@pytest.mark.parametrize("spelling", [".ENV", ".Env", "config/.ENV"])
def test_a_denied_file_in_another_case_is_denied_by_default(spelling):
    policy = compile_policy(PolicySpec(version=1, denied_paths=(".env", "**/.env")))
    patch = parse_patch(diff_for(spelling))
    assert decide_patch(policy, patch, first_run=False).outcome is Effect.DENY


@pytest.mark.parametrize("mark", ["\u200e", "\u200f", "\u061c"])
def test_bidirectional_marks_in_a_path_are_refused(mark):
    with pytest.raises(PatchParseError):
        parse_patch(diff_for(f"docs/x{mark}.md"))
