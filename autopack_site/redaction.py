"""One place that decides what a secret looks like, used for logs, summaries and exports.

Keys are matched case-, hyphen- and underscore-insensitively; values are matched by two named
pattern groups: CREDENTIAL_PATTERNS (bearer tokens, API keys, JWTs, URLs with passwords) and
PERSONAL_DATA_PATTERNS (e-mail addresses, card numbers). ``scrub`` also replaces the literal
secrets its caller used. Everything masked reads MASK, wherever it is shown.
"""

import base64
import json
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
    re.compile(r"(?i)\bbearer(?:\s+|%20|\+)[A-Za-z0-9._~+/=-]{8,}"),  # also URL-encoded
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),  # JWT
    re.compile(r"\bapk_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}"),  # our own agent keys
    re.compile(r"\bapsig_[A-Za-z0-9_-]{20,}"),  # our own projects' signing secrets
    re.compile(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"),  # Stripe-style keys
    re.compile(r"\b(?:sk-ant-|sk-)[A-Za-z0-9_-]{20,}"),  # LLM provider keys
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),  # GitHub tokens
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![\w-])"),  # Google API keys (often in a HAR's URLs)
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"),  # Telegram bot tokens
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
)
# Data about people: masked in logs and exports, but not a credential in an agent's payload.
PERSONAL_DATA_PATTERNS = (
    # e-mail addresses, also URL-encoded (a query string's name%40example.org)
    re.compile(r"\b[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
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


# --- thorough redaction for what is stored (run artifacts), with a count -------------------------
# Stored files get more than logs: telephone numbers and IP addresses too (in a log line an
# address is often the point; in a stored HAR it is a person's), and `name=value` / `name: value`
# assignments whose name looks secret (a password in a config dump matches no value pattern).
CONTACT_PATTERNS = (
    # +44 20 7946 0958, (555) 123-4567, 555.123.4567: three groups with separators
    re.compile(
        r"(?<![\w.+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)|\d{2,4})[ .-]\d{3,4}[ .-]?\d{3,4}(?![\w.])"
    ),
    re.compile(r"(?<![\w+])\+[1-9]\d{7,14}(?!\d)"),  # E.164 without separators: +442079460958
    re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),  # IPv4
    # IPv6: eight groups, or a "::" abbreviation (so a time like 12:00:00 is not one)
    re.compile(
        r"(?<![\w:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
        r"|(?:[0-9A-Fa-f]{1,4}:){1,7}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?"
        r"|::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6}))(?![\w:])"
    ),
)
SECRET_ASSIGNMENT = re.compile(
    r"(?i)(\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|cookie|session|signature|credential|authorization)[\w-]*[\"']?\s*(?:[:=]|%3[AaDd])"
    r"(?:\s|%20|\+)*[\"']?)"  # "name=value", "name: value", and URL-encoded "name%3Dvalue"
    r"(?!\[redacted\])([^\s\"'&;,]+)"
)


def scrub_counted(text: str, *, secrets: Iterable[str] = ()) -> tuple[str, int]:
    """Thorough ``scrub`` for stored text: what ``scrub`` masks plus secret-named assignments,
    telephone numbers and IP addresses. Returns the text and how many values were masked."""
    count = 0
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            for spelling in {secret, quote(secret, safe=""), quote_plus(secret)}:
                count += text.count(spelling)
                text = text.replace(spelling, MASK)
    for pattern in CREDENTIAL_PATTERNS:  # first: "Authorization: Bearer x" is one value
        text, n = pattern.subn(MASK, text)
        count += n
    text, n = SECRET_ASSIGNMENT.subn(lambda m: m.group(1) + MASK, text)
    count += n
    for pattern in (*PERSONAL_DATA_PATTERNS, *CONTACT_PATTERNS):
        text, n = pattern.subn(MASK, text)
        count += n
    return text, count


# Deeper JSON is not walked (the walk is recursive): a stored document past it is refused by its
# caller, a JSON string inside one past it is scrubbed as text.
MAX_REDACT_DEPTH = 100


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively: safe for any depth)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            deepest = max(deepest, depth)
            stack += [
                (inner, depth + 1) for inner in (item.values() if isinstance(item, dict) else item)
            ]
    return deepest


def redact_counted(value: Any) -> tuple[Any, int]:
    """Thorough ``redact`` for stored JSON (and HAR, which is JSON): secret-named keys masked;
    HAR's ``{"name": ..., "value": ...}`` pairs (headers, cookies, query strings, form fields)
    masked when the name looks secret or they are cookies; strings that hold JSON (request and
    response bodies) redacted as JSON; every other string scrubbed thoroughly. Returns the
    value and how many values were masked."""
    counter = [0]

    def walk(item: Any, parent_key: str = "") -> Any:
        if isinstance(item, dict):
            pair = isinstance(item.get("name"), str) and "value" in item
            if pair and (parent_key.lower() == "cookies" or is_secret_key(item["name"])):
                counter[0] += 1
                return {**item, "value": MASK}
            base64_body = item.get("encoding") == "base64" and isinstance(item.get("text"), str)
            out = {}
            for key, inner in item.items():
                if isinstance(key, str):  # a key can hold an address or a token as well
                    scrubbed_key, n = scrub_counted(key)
                    if n:
                        counter[0] += n
                        while scrubbed_key in out or scrubbed_key in item:
                            scrubbed_key += "'"
                    out_key = scrubbed_key
                else:
                    out_key = key
                if isinstance(key, str) and is_secret_key(key) and inner not in (None, "", [], {}):
                    counter[0] += 1
                    out[out_key] = MASK
                elif key == "text" and base64_body:
                    out[out_key] = walk_base64(inner, parent_key)
                else:
                    out[out_key] = walk(inner, str(key))
            return out
        if isinstance(item, list | tuple):
            return [walk(inner, parent_key) for inner in item]
        if isinstance(item, str):
            stripped = item.strip()
            if stripped[:1] in ("{", "[") and len(stripped) > 1:
                try:
                    inner = json.loads(stripped)
                except (ValueError, RecursionError):
                    inner = None
                if isinstance(inner, dict | list) and json_depth(inner) <= MAX_REDACT_DEPTH:
                    return json.dumps(walk(inner, parent_key), ensure_ascii=False)
            text, n = scrub_counted(item)
            counter[0] += n
            return text
        return item

    def walk_base64(text: str, parent_key: str) -> str:
        """HAR bodies may be base64 (``"encoding": "base64"``): text inside is redacted and
        re-encoded; binary inside passes as is."""
        try:
            decoded = base64.b64decode(text, validate=True).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            return text
        return base64.b64encode(walk(decoded, parent_key).encode()).decode()

    result = walk(value)
    return result, counter[0]
