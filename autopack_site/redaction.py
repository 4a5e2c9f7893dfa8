"""One place that decides what a secret looks like, used for logs, summaries and exports.

Keys are matched case-, hyphen- and underscore-insensitively; values are matched by two named
pattern groups: CREDENTIAL_PATTERNS (bearer tokens, API keys, JWTs, URLs with passwords) and
PERSONAL_DATA_PATTERNS (e-mail addresses, card numbers). ``scrub`` also replaces the literal
secrets its caller used. Everything masked reads MASK, wherever it is shown.
"""

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[redacted]"

_SECRET_KEY_PARTS = (
    "authorization",
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "clientsecret",
    "cookie",
    "session",
    "signature",
    "credential",
)

# Values that grant access wherever they appear: never stored, logged or exported.
CREDENTIAL_PATTERNS = (
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),  # JWT
    re.compile(r"\bapk_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}"),  # our own agent keys
    re.compile(r"\bapsig_[A-Za-z0-9_-]{20,}"),  # our own projects' signing secrets
    re.compile(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"),  # Stripe-style keys
    re.compile(r"\b(?:sk-ant-|sk-)[A-Za-z0-9_-]{20,}"),  # LLM provider keys
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),  # GitHub tokens
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"),  # Telegram bot tokens
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
)
# Data about people: masked in logs and exports, but not a credential in an agent's payload.
PERSONAL_DATA_PATTERNS = (
    re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),  # e-mail addresses
    re.compile(r"\b(?:\d[ -]?){13,19}\b"),  # card-number-like digit runs
)
# Shorter strings would mask ordinary words; nothing that short is a real secret.
MIN_SECRET_LENGTH = 4


def _normalise_key(key: str) -> str:
    return re.sub(r"[-_\s]", "", key).lower()


def is_secret_key(key: str) -> bool:
    normalised = _normalise_key(key)
    return any(part in normalised for part in _SECRET_KEY_PARTS)


def scrub(text: str, *, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` (as is and URL-encoded, as in a form body or a query)
    and then every credential or personal-data pattern replaced by the one MASK."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            for spelling in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(spelling, MASK)
    for pattern in (*CREDENTIAL_PATTERNS, *PERSONAL_DATA_PATTERNS):
        text = pattern.sub(MASK, text)
    return text


def contains_credential(text: str) -> bool:
    return any(pattern.search(text) for pattern in CREDENTIAL_PATTERNS)


def redact(value: Any) -> Any:
    """A deep copy of ``value`` with secret-looking keys and values masked."""
    if isinstance(value, dict):
        return {
            key: MASK if isinstance(key, str) and is_secret_key(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return scrub(value)
    return value


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: MASK if is_secret_key(name) else scrub(v) for name, v in headers.items()}


def credential_paths(value: Any, path: str = "") -> list[str]:
    """Where ``value`` holds something that looks like a credential: a secret-named key with a
    non-empty value, or a string matching a credential pattern (tokens, keys, JWTs, passwords in
    URLs). E-mail addresses and card-like numbers are not credentials and are not reported."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and is_secret_key(key) and item not in (None, "", [], {}):
                found.append(where)
            else:
                found += credential_paths(item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += credential_paths(item, f"{path}.{index}" if path else str(index))
    elif isinstance(value, str) and contains_credential(value):
        found.append(path or "(value)")
    return found
