"""Demo data for the first start: a project, an operator, an agent key, a signing secret,
provider credentials for the fake provider, a paper trading account, a run in progress."""

import secrets
from dataclasses import dataclass

from axes.utils import reset as axes_reset
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from autopack_site.models import AgentKey, Project, Role, Scope
from autopack_site.project_secrets import secret_variable
from autopack_site.services import (
    agent_key_create,
    agent_key_revoke,
    membership_grant,
    signing_secret_rotate,
    staff_group_sync,
)
from ledger.models import ProviderCredential
from policies.models import GovernancePolicy
from policies.services import policy_apply_template
from runs.models import Patch, Run
from runs.services import PhaseSpec, patch_submit, phase_claim_next, run_create
from trading.models import Mode, TradingAccount
from trading.services import account_create

DEMO_PROJECT = "demo"
FAKE_PROVIDER_PORT = 8765
# Demo secrets for the loopback fake provider only, by name in the demo project's namespace;
# `manage.py up` puts them in the environment of the server and the worker (as
# AUTOPACK_SECRET_DEMO__<NAME>). Real secrets are never in code or in the database.
DEMO_SECRET_VALUES = {
    # the fake provider's demo value:
    "SHOPIFY_TOKEN": "demo-shopify-token",  # nosec B105
    "ALPACA_KEY": "DEMOKEY:demo-alpaca-secret",
}
DEMO_SECRETS = {
    secret_variable(DEMO_PROJECT, name): value for name, value in DEMO_SECRET_VALUES.items()
}
# (provider, scopes, secret name); the webhook signs with the project's signing secret.
DEMO_CREDENTIALS = [
    ("webhook", [], ""),
    ("shopify", ["write_products"], "SHOPIFY_TOKEN"),
    ("alpaca", ["trading"], "ALPACA_KEY"),
]
OPERATOR_USERNAME = "operator"

# Touches a protected path (docs/) under the Autopack template, so it waits in the inbox.
DEMO_DIFF = """diff --git a/docs/health.md b/docs/health.md
new file mode 100644
index 0000000..3b18e51
--- /dev/null
+++ b/docs/health.md
@@ -0,0 +1,3 @@
+# Health page
+
+`GET /health` answers 200 with the database and worker state.
diff --git a/src/app/health.py b/src/app/health.py
index 83db48f..bf269f4 100644
--- a/src/app/health.py
+++ b/src/app/health.py
@@ -1,2 +1,5 @@
 def health():
-    return "ok"
+    return {
+        "database": "ok",
+        "worker": "ok",
+    }
"""


@dataclass(frozen=True)
class DemoCredentials:
    username: str
    password: str
    agent_key: str
    project: str
    signing_secret: str


@transaction.atomic
def demo_seed() -> DemoCredentials:
    """Idempotent; every call issues a fresh operator password and a fresh demo agent key."""
    project, _ = Project.objects.get_or_create(slug=DEMO_PROJECT, defaults={"name": "Demo project"})
    password = secrets.token_urlsafe(12)
    operator, _ = User.objects.get_or_create(
        username=OPERATOR_USERNAME, defaults={"email": "operator@example.com"}
    )
    operator.is_staff = True
    operator.set_password(password)
    operator.save()
    axes_reset(username=OPERATOR_USERNAME)  # a fresh password starts without an old lockout
    operator.groups.add(staff_group_sync())
    for role in (Role.OPERATOR, Role.POLICY_EDITOR, Role.TRADING_SUPERVISOR, Role.OWNER):
        membership_grant(project=project, user=operator, role=role, acting_user=None)

    for old in AgentKey.objects.filter(project=project, name="demo-agent", revoked_at=None):
        agent_key_revoke(key=old, reason="replaced by a new demo start")
    # Created by nobody: the operator may approve what this agent asks for.
    key, plaintext = agent_key_create(
        project=project, name="demo-agent", scopes=list(Scope.values), created_by=None
    )
    if not GovernancePolicy.objects.filter(project=project).exists():
        policy_apply_template(project=project, template="autopack", editor=operator)

    if not Run.objects.filter(project=project, family="demo-build").exists():
        run, _ = run_create(
            project=project,
            family="demo-build",
            run_id="first-run",
            config={"model": "claude-sonnet", "goal": "add a health page"},
            phases=[
                PhaseSpec(key="plan", name="Plan the change"),
                PhaseSpec(key="implement", name="Write the patch", depends_on=("plan",)),
                PhaseSpec(key="test", name="Run the tests", depends_on=("implement",)),
            ],
            created_by_key=key,
        )
        phase_claim_next(run=run, claimed_by_key=key, lease_seconds=3600)
    _signing, signing_secret = signing_secret_rotate(project=project, immediately=True)
    for provider, scopes, secret_name in DEMO_CREDENTIALS:
        credential, created = ProviderCredential.objects.get_or_create(
            project=project,
            provider=provider,
            environment="sandbox",
            active=True,
            defaults={
                "name": f"demo-{provider}",
                "scopes": scopes,
                "allowed_actions": ["*"],
                "secret_name": secret_name,
                "rotated_at": timezone.now(),
            },
        )
        if not created and credential.secret_name != secret_name:  # a demo from before
            credential.secret_name, credential.held_reason = secret_name, ""
            credential.save(update_fields=["secret_name", "held_reason"])
    if not TradingAccount.objects.filter(project=project).exists():
        # Paper trading on the fake broker with the default (conservative) limits: every
        # Alpaca order the demo agent places passes its pre-trade check first (docs/trading.md).
        account_create(
            project=project,
            name="demo-paper",
            mode=Mode.PAPER,
            actor="demo",
            paper_credential=ProviderCredential.objects.get(
                project=project, provider="alpaca", environment="sandbox", active=True
            ),
        )
    run = Run.objects.get(project=project, family="demo-build", run_id="first-run")
    if not Patch.objects.filter(run=run).exists():
        patch_submit(
            run=run,
            diff_text=DEMO_DIFF,
            submitted_by_key=key,
            phase_key="implement",
            title="Add a health page and document it",
        )
    return DemoCredentials(OPERATOR_USERNAME, password, plaintext, project.slug, signing_secret)
