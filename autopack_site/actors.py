"""Who did it, as written into every event row: one spelling for each kind of actor; and how
agents see it (people are never named to agents)."""

import hmac

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

SYSTEM = "system"


def actor_of_key(key) -> str:
    """An agent key's label (``AgentKey.actor_label``), or "system" when there is none."""
    return key.actor_label if key is not None else SYSTEM


def actor_of_user(user: AbstractBaseUser) -> str:
    return f"user:{user.get_username()}"


def actor_for_agents(actor: str) -> str:
    """An event's actor as an agent may see it: a person becomes ``operator:<12 hex>``, an id
    keyed by the server's secret and stable per person, so agents can tell two people apart but
    never learn who; agents and the system stay as they are."""
    if not actor.startswith("user:"):
        return actor
    digest = hmac.new(settings.SECRET_KEY.encode(), f"person:{actor}".encode(), "sha256")
    return f"operator:{digest.hexdigest()[:12]}"
