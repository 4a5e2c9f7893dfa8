"""Who did it, as written into every event row: one spelling for each kind of actor."""

from django.contrib.auth.models import AbstractBaseUser

SYSTEM = "system"


def actor_of_key(key) -> str:
    """An agent key's label (``AgentKey.actor_label``), or "system" when there is none."""
    return key.actor_label if key is not None else SYSTEM


def actor_of_user(user: AbstractBaseUser) -> str:
    return f"user:{user.get_username()}"
