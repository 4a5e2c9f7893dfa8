"""django-q2 entry points for publishing compliance."""

import logging

from django.conf import settings
from django.core.mail import send_mail

from autopack_site.models import ProjectMembership
from autopack_site.roles import Capability, roles_with
from publishing import monitor
from publishing.models import PolicySource

logger = logging.getLogger(__name__)


def policy_sources_fetch_due() -> dict:
    return monitor.policy_sources_fetch_due()


def policy_change_summarise(change_id: int) -> str:
    """Advice only: a summary never acknowledges a change (publishing/policy_summary.py)."""
    from publishing.policy_summary import policy_change_summary_run

    return policy_change_summary_run(change_id)


def policy_source_alert(source_id: int) -> int:
    """Tells the project's publishing supervisors (by email) that a source keeps failing."""
    source = PolicySource.objects.filter(pk=source_id).select_related("project").first()
    if source is None or source.alerted_at is None:
        return 0
    emails = sorted(
        set(
            ProjectMembership.objects.filter(
                project_id=source.project_id,
                role__in=roles_with(Capability.SUPERVISE_PUBLISHING),
                user__is_active=True,
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if not emails:
        logger.error("policy source failing and nobody to tell", extra={"source": source_id})
        return 0
    return send_mail(
        subject=f"[Autopack] {source.project.slug}: {source.provider} policy source failing",
        message=(
            f"{source.name} ({source.url}) failed {source.consecutive_failures} times in a row: "
            f"{source.last_error}\nUntil it is fetched again, {source.provider} publishing in "
            f"{source.project.slug} may be held. See {settings.AUTOPACK_BASE_URL}/admin/"
            "publishing/policysource/"
        ),
        from_email=None,
        recipient_list=emails,
    )
