"""The approval inbox and the policy editor in the Django admin."""

import json
import re
from datetime import timedelta

import pytest
from django.http import HttpRequest
from django.utils import timezone

from approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from approvals.services import approval_request_create
from autopack_site.demo import demo_seed
from autopack_site.errors import Unprocessable
from autopack_site.models import Role
from autopack_site.services import membership_grant
from policies.engine import parse_patch
from policies.models import GovernancePolicy, PolicyRevision
from policies.services import patch_decide, policy_apply_template, policy_save_snapshot
from policies.snapshots import snapshot_of
from runs.services import patch_submit
from tests.factories import make_project, make_run, make_staff

pytestmark = pytest.mark.django_db

DOCS_DIFF = """diff --git a/docs/a.md b/docs/a.md
--- a/docs/a.md
+++ b/docs/a.md
@@ -1 +1,2 @@
 intro
+more
"""


def ask(project, title="Publish", risk=0.1, target=None, **extra):
    return approval_request_create(
        project=project,
        kind="action",
        subject=target or f"t:{title}",
        title=title,
        payload={"title": title},
        risk_score=risk,
        **extra,
    )


def test_inbox_lists_pending_for_operator_projects_soonest_expiry_first(client, project):
    operator = make_staff(project, Role.OPERATOR)
    later = ask(project, "Later", pending_window=timedelta(hours=20))
    sooner = ask(project, "Sooner", pending_window=timedelta(hours=2))
    ask(make_project("elsewhere"), "Theirs")
    viewer_only = make_project("viewing")
    ask(viewer_only, "Viewed")
    membership_grant(project=viewer_only, user=operator, role=Role.VIEWER, acting_user=None)
    client.force_login(operator)
    html = client.get("/admin/approvals/approvalrequest/").content.decode()
    assert html.index("Sooner") < html.index("Later")
    assert "Theirs" not in html and "Viewed" not in html
    for column in ("what it does", "run / phase", "side effect", "risk", "age · expires", "status"):
        assert column in html.lower()
    index = client.get("/admin/").content.decode()
    assert re.search(r"<strong>2</strong> pending approvals", index)
    assert later.pk != sooner.pk


def test_item_page_shows_the_payload_diff_explanation_and_decides(client, project):
    policy_apply_template(project=project, template="autopack", editor=None)
    make_run(project)
    run = make_run(project)
    patch = patch_submit(run=run, diff_text=DOCS_DIFF, submitted_by_key=None, phase_key="build")
    approval = patch.approval
    operator = make_staff(project, Role.OPERATOR)
    client.force_login(operator)
    page = client.get(f"/admin/approvals/approvalrequest/{approval.pk}/change/").content.decode()
    for fragment in (
        approval.payload_hash,
        'id="changed-files"',
        "docs/a.md",
        "protected docs/",
        "path_protected",
        '<span class="add">+more</span>',
        'id="risk-factors"',
        'id="approve-button"',
        "(1 protected)",  # the one line: file count and protected hits
    ):
        assert fragment in page, fragment
    decide = f"/admin/approvals/approvalrequest/{approval.pk}/decide/"
    refused = client.post(
        decide, {"verdict": "reject", "reason": "", "payload_hash_seen": approval.payload_hash}
    )
    assert refused.status_code == 302
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    # the button leads to a confirmation that repeats the hash and what happens; nothing yet
    asked = {"verdict": "approve", "payload_hash_seen": approval.payload_hash}
    confirm = client.post(decide, asked).content.decode()
    assert approval.payload_hash in confirm and "What will happen:" in confirm
    assert "Nothing is applied by Autopack" in confirm
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    client.post(decide, {**asked, "confirmed": "yes"})
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    assert ApprovalDecision.objects.get().approver == operator
    again = client.get(f"/admin/approvals/approvalrequest/{approval.pk}/change/").content.decode()
    assert 'id="approve-button"' not in again
    assert 'id="outcome"' in again and "Why the policy asked a human" in again


def test_a_viewer_cannot_decide_through_the_admin(client, project):
    viewer = make_staff(project, Role.VIEWER)
    approval = ask(project)
    client.force_login(viewer)
    response = client.post(
        f"/admin/approvals/approvalrequest/{approval.pk}/decide/",
        {"verdict": "approve", "payload_hash_seen": approval.payload_hash},
    )
    assert response.status_code == 404
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_bulk_approval_only_low_risk_and_only_after_confirmation(client, project):
    operator = make_staff(project, Role.OPERATOR)
    low = [ask(project, f"Low {i}", risk=0.1) for i in range(2)]
    high = ask(project, "High", risk=0.9)
    client.force_login(operator)
    selected = [str(a.pk) for a in [*low, high]]
    confirm = client.post(
        "/admin/approvals/approvalrequest/",
        {"action": "approve_low_risk", "_selected_action": selected},
    )
    html = confirm.content.decode()
    assert "Approve these low-risk requests?" in html
    assert all(a.payload_hash in html for a in low) and high.payload_hash not in html
    assert not ApprovalDecision.objects.exists()
    form = {
        "action": "approve_low_risk",
        "_selected_action": selected,
        "confirmed": "yes",
        "reason": "fine",
        **{f"hash_{a.pk}": a.payload_hash for a in low},
    }
    client.post("/admin/approvals/approvalrequest/", form)
    statuses = dict(ApprovalRequest.objects.values_list("title", "status"))
    assert statuses == {"Low 0": "approved", "Low 1": "approved", "High": "pending"}


def test_inbox_with_100k_rows_renders_in_bounded_queries(
    client, project, django_assert_max_num_queries
):
    operator = make_staff(project, Role.OPERATOR)
    now = timezone.now()
    ApprovalRequest.objects.bulk_create(
        [
            ApprovalRequest(
                project=project,
                kind="action",
                subject=f"bulk:{i}",
                title=f"Bulk {i}",
                payload={"i": i},
                payload_hash=f"{i:064x}",
                risk_score=(i % 10) / 10,
                expires_at=now + timedelta(minutes=i),
                status=ApprovalStatus.PENDING if i % 3 else ApprovalStatus.EXPIRED,
            )
            for i in range(100_000)
        ],
        batch_size=5_000,
    )
    client.force_login(operator)
    with django_assert_max_num_queries(15):
        response = client.get("/admin/approvals/approvalrequest/")
    assert response.status_code == 200
    assert "Bulk 1<" in response.content.decode()
    with django_assert_max_num_queries(15):
        assert (
            client.get("/admin/approvals/approvalrequest/?risk=high&kind=action").status_code == 200
        )
    # the dashboard's figures plus the emergency banner's two looks (switches, held actions)
    with django_assert_max_num_queries(16):
        assert client.get("/admin/").status_code == 200


def test_policy_save_in_admin_keeps_a_revision_with_diff(client, project):
    editor = make_staff(project, Role.POLICY_EDITOR, Role.OPERATOR)
    policy = policy_apply_template(project=project, template="downstream", editor=editor)
    client.force_login(editor)
    url = f"/admin/policies/governancepolicy/{policy.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        project=project.pk,
        change_reason="tighten the line limit",
        max_auto_approve_lines=50,
    )
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for field in management.fields:
            data[f"{formset.prefix}-{field}"] = management[field].value()
        for index, sub in enumerate(formset.forms):
            for name in sub.fields:
                value = sub[name].value()
                if value is not None:
                    data[f"{formset.prefix}-{index}-{name}"] = (
                        value if not isinstance(value, bool) else ("on" if value else "")
                    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context and [
        f.errors for f in [response.context["adminform"].form]
    ]
    policy.refresh_from_db()
    assert policy.max_auto_approve_lines == 50
    revision = PolicyRevision.objects.filter(policy=policy).order_by("-version").first()
    assert revision.version == policy.version == 2
    assert revision.reason == "tighten the line limit"
    assert {"change": "setting", "field": "max_auto_approve_lines", "from": 200, "to": 50} in (
        revision.diff
    )


def test_a_negation_pattern_is_refused_on_save(project):
    editor = make_staff(project, Role.POLICY_EDITOR)
    policy = policy_apply_template(project=project, template="autopack", editor=editor)
    draft = snapshot_of(policy)
    draft["path_rules"]["protected"].append("!docs/public/")
    with pytest.raises(Unprocessable):
        policy_save_snapshot(project=project, snapshot=draft, editor=editor, reason="x")
    assert GovernancePolicy.objects.get(pk=policy.pk).version == policy.version


def test_preview_shows_which_recent_decisions_would_change(client, project):
    editor = make_staff(project, Role.POLICY_EDITOR)
    policy = policy_apply_template(project=project, template="autopack", editor=editor)
    patch_decide(project=project, patch=parse_patch(DOCS_DIFF), first_run=False, requester="t")
    draft = snapshot_of(policy)
    draft["path_rules"]["protected"].remove("docs/")
    draft["path_rules"]["auto_approvable"].append("docs/")
    client.force_login(editor)
    response = client.post(
        f"/admin/policies/governancepolicy/{policy.pk}/preview/",
        {"draft": json.dumps(draft), "limit": "50", "save": "no"},
    )
    html = response.content.decode()
    assert "1 of 1 recent decisions would change" in html
    assert "require_approval" in html and "<strong>allow</strong>" in html
    assert GovernancePolicy.objects.get(pk=policy.pk).version == policy.version


def test_first_start_shows_a_pending_approval(client):
    credentials = demo_seed()
    assert ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).count() >= 1
    # django-axes checks every login attempt against its request
    client.login(
        request=HttpRequest(), username=credentials.username, password=credentials.password
    )
    index = client.get("/admin/").content.decode()
    assert re.search(r"<strong>\d+</strong> pending approval", index)
    inbox = client.get("/admin/approvals/approvalrequest/").content.decode()
    assert "Add a health page and document it" in inbox
    demo_seed()  # idempotent: a second start adds no second request
    assert ApprovalRequest.objects.count() == 1
