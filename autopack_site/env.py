"""Typed environment readers that fail loudly (healthchecks' envbool idea)."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# Every variable the settings read: the platform's own, which no project secret may be named.
SETTING_VARIABLES: set[str] = set()


def _read(name: str) -> str | None:
    SETTING_VARIABLES.add(name)
    return os.environ.get(name)


def env_str(name: str, default: str = "") -> str:
    value = _read(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    raw = _read(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0/true/false/yes/no/on/off, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = _read(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = _read(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]
