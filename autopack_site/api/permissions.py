from rest_framework.permissions import SAFE_METHODS, BasePermission

from autopack_site.models import AgentKey


class HasAgentScope(BasePermission):
    """A valid agent key with the scope the view names for this method (401 without a key)."""

    message = "This agent key lacks the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, AgentKey):
            return False
        needed = view.read_scopes if request.method in SAFE_METHODS else view.write_scopes
        allowed = set(needed) | (
            set(view.write_scopes) if request.method in SAFE_METHODS else set()
        )
        if not allowed or not allowed.intersection(key.scopes):
            self.message = (
                f"This agent key lacks the scope this endpoint needs: one of {sorted(allowed)}."
            )
            return False
        return True
