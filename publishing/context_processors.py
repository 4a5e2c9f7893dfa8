"""The admin's banner (engaged emergency switches, on every admin page) and, on the index (the
inbox), what publishing guards hold with their reasons."""

from autopack_site.roles import Capability, projects_where
from ledger.models import HELD_BY_GUARD, ActionStatus, ExternalAction
from publishing.models import EmergencySwitch, SwitchStatus

HELD_CODES = ("provider_policy_", "emergency_switch_engaged")


def emergency_banner(request) -> dict:
    if not request.path.startswith("/admin/") or not getattr(request, "user", None):
        return {}
    if not request.user.is_authenticated or not request.user.is_staff:
        return {}
    visible = projects_where(request.user, Capability.VIEW)
    switches = EmergencySwitch.objects.filter(status=SwitchStatus.ENGAGED).select_related("project")
    ids = set(visible.values_list("pk", flat=True))
    context = {
        "emergency_switches": [s for s in switches if s.project_id is None or s.project_id in ids]
    }
    if request.path == "/admin/":
        held = ExternalAction.objects.filter(
            project__in=visible, status=ActionStatus.HELD, held_by=HELD_BY_GUARD
        ).select_related("project")
        context["publishing_held"] = [
            action for action in held.order_by("-pk")[:20] if action.error.startswith(HELD_CODES)
        ]
    return context
