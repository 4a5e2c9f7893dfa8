"""Operators read a run's artifacts (class, size, expiry, redaction) and its handoffs; a
project's owners set its retention. The role decides (autopack_site/roles.py, docs/roles.md)."""

from django.contrib import admin
from django.utils.html import format_html

from artifacts.models import Artifact, ArtifactEvent, Handoff, HandoffEvent, RetentionOverride
from artifacts.selectors import artifact_content
from autopack_site.admin_tools import ProjectListFilter, ProjectScopedAdminMixin, ReadOnlyInline
from autopack_site.errors import DomainError
from autopack_site.roles import Capability

PREVIEW_BYTES = 20_000


class ArtifactEventInline(ReadOnlyInline):
    model = ArtifactEvent
    fields = ["created_at", "from_status", "to_status", "actor", "reason", "detail"]
    readonly_fields = fields


@admin.register(Artifact)
class ArtifactAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """Uploaded by agents through the API; changed only by retention."""

    list_display = [
        "name",
        "run",
        "artifact_class",
        "status",
        "size",
        "expires_at",
        "redaction_count",
        "encrypted",
    ]
    list_filter = ["artifact_class", "status", "encrypted", ProjectListFilter]
    list_select_related = ["run"]
    search_fields = ["name", "run__run_id", "run__family"]
    show_full_result_count = False
    readonly_fields = [
        "project",
        "run",
        "name",
        "artifact_class",
        "status",
        "content_type",
        "size",
        "stored_size",
        "sha256",
        "redacted",
        "redaction_count",
        "encrypted",
        "expires_at",
        "uploaded_by_key",
        "created_at",
        "finished_at",
        "content_preview",
    ]
    fields = readonly_fields
    inlines = [ArtifactEventInline]

    @admin.display(description="content (as stored: redacted)")
    def content_preview(self, artifact: Artifact) -> str:
        """Shown only to who may view the artifact's project (this page's own check)."""
        try:
            data = artifact_content(artifact)
        except (DomainError, OSError) as exc:
            return f"unavailable: {getattr(exc, 'message', type(exc).__name__)}"
        try:
            text = data[:PREVIEW_BYTES].decode("utf-8")
        except UnicodeDecodeError:
            return f"binary, {len(data)} bytes"
        more = " …" if len(data) > PREVIEW_BYTES else ""
        return format_html("<pre>{}{}</pre>", text, more)


@admin.register(RetentionOverride)
class RetentionOverrideAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    list_display = ["project", "artifact_class", "days", "created_at"]
    list_filter = [ProjectListFilter]
    fields = ["project", "artifact_class", "days"]
    add_capability = Capability.MANAGE_PROJECT
    change_capability = Capability.MANAGE_PROJECT
    delete_capability = Capability.MANAGE_PROJECT


class HandoffEventInline(ReadOnlyInline):
    model = HandoffEvent
    fields = ["created_at", "from_status", "to_status", "actor", "reason", "detail"]
    readonly_fields = fields


@admin.register(Handoff)
class HandoffAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """Briefs and sub-agents' answers: issued and submitted through the API only."""

    list_display = ["__str__", "run", "kind", "status", "confidence", "flagged", "created_at"]
    list_filter = ["kind", "status", ProjectListFilter]
    list_select_related = ["run"]
    search_fields = ["run__run_id", "output_sha256"]
    readonly_fields = [
        "project",
        "run",
        "kind",
        "status",
        "strict",
        "brief",
        "context_sha256",
        "output",
        "output_sha256",
        "confidence",
        "warnings",
        "created_by_key",
        "submitted_by_key",
        "created_at",
        "finished_at",
    ]
    fields = readonly_fields
    inlines = [HandoffEventInline]

    @admin.display(description="side effects flagged")
    def flagged(self, handoff: Handoff) -> int:
        return len(handoff.warnings or [])
