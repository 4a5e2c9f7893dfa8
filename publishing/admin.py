"""Publishing compliance in the admin: policy sources with the freshness tile (the same
``gate_for`` the gates endpoint answers from), policy changes to acknowledge, term lists,
packets with their events, and the emergency switches (engage: operators; release: owners,
after a confirmation page)."""

from django.contrib import admin
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils.html import format_html

from autopack_site.admin_tools import (
    ProjectListFilter,
    ProjectScopedAdminMixin,
    ReadOnlyInline,
    confirmed_action,
)
from autopack_site.roles import Capability, projects_where
from publishing.conf import PUBLISHING_ACTIONS
from publishing.models import (
    EmergencySwitch,
    PacketEvent,
    PolicyChange,
    PolicyChangeEvent,
    PolicySource,
    PublishPacket,
    PublishTermList,
    SwitchEvent,
)
from publishing.monitor import policy_change_acknowledge, policy_sources_install_presets
from publishing.policy_summary import summary_for_page
from publishing.selectors import gate_for
from publishing.switch import emergency_switch_engage_by_user, emergency_switch_release


def _add_presets(source, user, reason):
    policy_sources_install_presets(project=source.project, provider=source.provider)


@admin.register(PolicySource)
class PolicySourceAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    add_capability = Capability.SUPERVISE_PUBLISHING
    change_capability = Capability.SUPERVISE_PUBLISHING
    delete_capability = None  # never deleted (history): disabled
    list_display = [
        "name",
        "project",
        "provider",
        "category",
        "required",
        "enabled",
        "last_success_at",
        "consecutive_failures",
    ]
    list_filter = ["provider", "required", "enabled", ProjectListFilter]
    list_select_related = ["project"]
    fields = ["project", "provider", "name", "url", "category", "selector", "required", "enabled"]
    change_list_template = "admin/publishing/policysource/change_list.html"
    actions = [
        confirmed_action(
            description="Add the provider's preset sources that are missing",
            verb="Add presets",
            service=_add_presets,
            capability=Capability.SUPERVISE_PUBLISHING,
        )
    ]

    def changelist_view(self, request, extra_context=None):
        """The freshness tile: one gate per project and provider the user may see."""
        tiles = []
        for project in projects_where(request.user, Capability.VIEW).order_by("slug"):
            for provider in PUBLISHING_ACTIONS:
                gate = gate_for(project=project, provider=provider)
                if gate.sources:
                    tiles.append({"project": project, "gate": gate, "reason": gate.reason()})
        return super().changelist_view(request, {**(extra_context or {}), "gate_tiles": tiles})


class ChangeEventInline(ReadOnlyInline):
    model = PolicyChangeEvent
    fields = ["created_at", "from_status", "to_status", "actor", "reason"]
    readonly_fields = fields


def _acknowledge(change, user, reason):
    policy_change_acknowledge(change_id=change.pk, user=user, note=reason)


def _summaries(changes) -> dict:
    """The confirmation page shows each change's advisory summary (or why there is none)."""
    return {"summaries": [summary_for_page(change) for change in changes]}


@admin.register(PolicyChange)
class PolicyChangeAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "source", "project", "status", "created_at", "acknowledged_by"]
    list_filter = ["status", ProjectListFilter]
    list_select_related = ["source", "project"]
    readonly_fields = [
        "project",
        "source",
        "status",
        "advisory_summary",
        "diff_text",
        "acknowledged_by",
        "note",
        "acknowledged_at",
        "created_at",
    ]
    fields = readonly_fields
    inlines = [ChangeEventInline]
    actions = [
        confirmed_action(
            description="Acknowledge: I read the change (the note says what it means)",
            verb="Acknowledge",
            service=_acknowledge,
            capability=Capability.SUPERVISE_PUBLISHING,
            needs_reason=True,
            template="admin/publishing/policychange/confirm_acknowledge.html",
            confirm_context=_summaries,
        )
    ]

    @admin.display(description="advisory summary (advice, not a decision)")
    def advisory_summary(self, obj: PolicyChange):
        return render_to_string(
            "admin/publishing/policychange/_summary.html", {"summary": summary_for_page(obj)}
        )

    @admin.display(description="unified diff against the last acknowledged text")
    def diff_text(self, obj: PolicyChange):
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', obj.diff)


@admin.register(PublishTermList)
class PublishTermListAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    add_capability = Capability.SUPERVISE_PUBLISHING
    change_capability = Capability.SUPERVISE_PUBLISHING
    delete_capability = Capability.SUPERVISE_PUBLISHING
    list_display = ["__str__", "project", "kind", "provider", "enabled", "updated_at"]
    list_filter = ["kind", "provider", ProjectListFilter]
    fields = ["project", "kind", "provider", "terms", "enabled"]


class PacketEventInline(ReadOnlyInline):
    model = PacketEvent
    fields = ["created_at", "from_status", "to_status", "actor", "reason", "detail"]
    readonly_fields = fields


@admin.register(PublishPacket)
class PublishPacketAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "project", "provider", "action", "title", "status", "revision"]
    list_filter = ["status", "provider", ProjectListFilter]
    list_select_related = ["project"]
    search_fields = ["=content_hash"]
    readonly_fields = [f.name for f in PublishPacket._meta.fields]
    inlines = [PacketEventInline]


class SwitchEventInline(ReadOnlyInline):
    model = SwitchEvent
    fields = ["created_at", "from_status", "to_status", "actor", "reason"]
    readonly_fields = fields


def _engage(switch, user, reason):
    emergency_switch_engage_by_user(project=switch.project, user=user, reason=reason)


def _release(switch, user, reason):
    emergency_switch_release(switch_id=switch.pk, user=user, reason=reason)


@admin.register(EmergencySwitch)
class EmergencySwitchAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """Engaging is open to operators (with a reason); releasing to owners, after the
    confirmation page; the installation's switch (no project) to superusers."""

    list_display = ["__str__", "status", "engaged_by", "engaged_at", "engage_reason"]
    list_filter = ["status"]
    readonly_fields = [
        "scope",
        "project",
        "status",
        "engage_reason",
        "engaged_by",
        "engaged_at",
        "released_by",
        "released_at",
    ]
    fields = readonly_fields
    inlines = [SwitchEventInline]
    actions = [
        confirmed_action(
            description="Engage the emergency switch (everything waits for a person)",
            verb="Engage",
            service=_engage,
            capability=Capability.OPERATE_ACTIONS,
            needs_reason=True,
        ),
        confirmed_action(
            description="Release the emergency switch",
            verb="Release",
            service=_release,
            capability=Capability.RELEASE_EMERGENCY_SWITCH,
        ),
    ]

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        visible = projects_where(request.user, self.view_capability)
        installation = Q(project__isnull=True) if request.user.is_superuser else Q(pk__in=[])
        return queryset.filter(Q(project__in=visible) | installation)
