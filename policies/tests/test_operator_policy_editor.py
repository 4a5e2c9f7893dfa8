"""The policy editor warns: stable rule ids, shadowed rules named with the rule that shadows
them (at save, on the page, in the preview), and /policy/evaluate lists overridden rules."""

import json

import pytest

from autopack_site.models import Role
from conftest import agent_client
from policies.engine import ActionRule, Effect, PolicySpec, shadowed_rules
from policies.engine.shadows import glob_covers
from policies.models import GovernancePolicy
from policies.services import policy_apply_template, policy_save_snapshot
from policies.snapshots import snapshot_of
from tests.factories import make_key, make_staff

pytestmark = pytest.mark.django_db

WEBHOOK_ALLOW = {
    "provider_glob": "webhook",
    "action_glob": "send",
    "effect": "allow",
    "priority": 10,
    "description": "let the agent send webhooks",
}


def _with_rule(policy: GovernancePolicy, rule: dict, reason: str = "edit") -> GovernancePolicy:
    snapshot = snapshot_of(policy)
    snapshot["action_rules"].append(rule)
    return policy_save_snapshot(
        project=policy.project, snapshot=snapshot, editor=None, reason=reason
    )


def test_rule_ids_survive_edits_and_are_never_reused(project):
    policy = policy_apply_template(project=project, template="autopack", editor=None)
    assert [r["id"] for r in snapshot_of(policy)["action_rules"]] == ["rule-1"]
    policy = _with_rule(policy, WEBHOOK_ALLOW)  # listed first (priority 10), still new: rule-2
    rules = snapshot_of(policy)["action_rules"]
    assert [(r["id"], r["provider_glob"]) for r in rules] == [
        ("rule-2", "webhook"),
        ("rule-1", "*"),
    ]
    snapshot = snapshot_of(policy)
    snapshot["action_rules"] = [r for r in snapshot["action_rules"] if r["id"] != "rule-2"]
    snapshot["action_rules"][0]["description"] = "ask a human, always"
    policy = policy_save_snapshot(project=project, snapshot=snapshot, editor=None, reason="x")
    policy = _with_rule(policy, {**WEBHOOK_ALLOW, "action_glob": "ping"})
    assert sorted(r["id"] for r in snapshot_of(policy)["action_rules"]) == ["rule-1", "rule-3"]
    # the revision reads as a list of changes, the edited rule as changed (not removed + added)
    changes = [c["change"] for c in policy.revisions.get(version=3).diff]
    assert changes.count("rule_changed") == 1 and "rule_added" not in changes


def test_shadowing_is_found_and_named_conservatively():
    def rule(rid, provider, action, effect, **extra):
        return ActionRule(rid, provider, action, Effect(effect), **extra)

    spec = PolicySpec(
        version=1,
        action_rules=(
            rule("rule-1", "*", "*", "require_approval"),
            rule("rule-2", "webhook", "send", "allow", priority=10),
            rule("rule-3", "shop*", "products.*", "deny"),
            rule("rule-4", "shopify", "products.create", "require_approval"),
            rule("rule-5", "etsy", "x", "allow"),
        ),
    )
    found = {s.rule: s.by for s in shadowed_rules(spec)}
    assert found == {"rule-2": "rule-1", "rule-4": "rule-3", "rule-5": "rule-1"}
    assert glob_covers("shop*", "shopify") and not glob_covers("shop?", "shop*")
    assert not glob_covers("a*", "[ab]*")


def test_the_editor_warns_on_the_page_at_save_and_in_the_preview(client, project):
    editor = make_staff(project, Role.POLICY_EDITOR)
    policy = policy_apply_template(project=project, template="autopack", editor=None)
    client.force_login(editor)
    clean = client.get(f"/admin/policies/governancepolicy/{policy.pk}/change/").content.decode()
    assert 'id="policy-warnings"' not in clean
    assert "strictest effect wins" in clean  # the help texts state the combining order
    assert "Save and add another" not in clean and "deletelink" not in clean
    assert 'id="add_id_project"' not in clean and 'id="change_id_project"' not in clean

    draft = snapshot_of(policy)
    draft["action_rules"].append(WEBHOOK_ALLOW)
    preview = client.post(
        f"/admin/policies/governancepolicy/{policy.pk}/preview/",
        {"draft": json.dumps(draft), "save": "no"},
    ).content.decode()
    assert 'id="policy-warnings"' in preview and "new-2" in preview and "rule-1" in preview
    saved = client.post(
        f"/admin/policies/governancepolicy/{policy.pk}/preview/",
        {"draft": json.dumps(draft), "save": "yes", "reason": "let webhooks through"},
        follow=True,
    ).content.decode()
    assert "Saved as acme policy v2." in saved
    assert "Warning: rule-2 (webhook/send → allow) can never take effect: rule-1" in saved
    assert 'id="policy-warnings"' in saved  # and it stays on the page until fixed


def test_evaluate_lists_the_overridden_rule_and_what_beat_it(project):
    policy = policy_apply_template(project=project, template="autopack", editor=None)
    _with_rule(policy, WEBHOOK_ALLOW)
    agent = agent_client(make_key(project, scopes=["read"]))
    body = agent.post(
        "/api/v1/policy/evaluate",
        {"action": {"provider": "webhook", "action": "send"}},
        format="json",
    ).json()
    assert body["outcome"] == "require_approval"
    assert body["overridden_rules"] == [
        {
            "rule": "rule-2",
            "effect": "allow",
            "beaten_by": "rule-1",
            "beaten_by_effect": "require_approval",
            "message": "rule-2 says allow, but rule-1 says require_approval and the strictest "
            "matching rule wins.",
        }
    ]
