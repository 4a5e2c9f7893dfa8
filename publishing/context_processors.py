"""The admin's banner: engaged emergency switches, on every admin page."""

from publishing.models import EmergencySwitch, SwitchStatus


def emergency_banner(request) -> dict:
    if not request.path.startswith("/admin/") or not getattr(request, "user", None):
        return {}
    if not request.user.is_authenticated or not request.user.is_staff:
        return {}
    switches = EmergencySwitch.objects.filter(status=SwitchStatus.ENGAGED).select_related("project")
    from autopack_site.roles import Capability, projects_where

    visible = set(projects_where(request.user, Capability.VIEW).values_list("pk", flat=True))
    shown = [s for s in switches if s.project_id is None or s.project_id in visible]
    return {"emergency_switches": shown}
