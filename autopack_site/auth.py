import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from autopack_site.errors import NotFound
from autopack_site.services import agent_key_authenticate


class AgentPrincipal:
    """request.user for agent requests: never a Django user, so no admin or approval path
    accepts it."""

    is_authenticated = True
    is_staff = False
    is_superuser = False
    is_agent = True

    def __init__(self, key):
        self.key = key
        self.project = key.project

    def __str__(self) -> str:
        return f"agent:{self.key.name}"


# Keys are printable ASCII; anything else (NUL, spaces, a megabyte) is refused before a lookup.
_KEY_TEXT = re.compile(r"^[\x21-\x7e]{1,200}$")


class AgentKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        # RFC 9110: the scheme is case-insensitive ("bearer" and "BEARER" are "Bearer").
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <agent key>'.")
        if not _KEY_TEXT.match(parts[1]):
            raise exceptions.AuthenticationFailed("Malformed agent key.")
        try:
            key = agent_key_authenticate(plaintext=parts[1])
        except NotFound as refusal:
            raise exceptions.AuthenticationFailed(refusal.message) from None
        return AgentPrincipal(key), key

    def authenticate_header(self, request):
        return self.keyword


class AgentKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "autopack_site.auth.AgentKeyAuthentication"
    name = "AgentKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A per-project agent key."}
