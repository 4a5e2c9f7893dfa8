"""The one signature Autopack puts on what it sends to agents (approval callbacks and signed
webhook actions): ``X-Autopack-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

The timestamp is inside the MAC, so a captured delivery cannot be replayed after the tolerance.
A verifier may hold several secrets (the old and the new one while a rotation settles) and a
header may carry several ``v1`` entries; any match within the tolerance verifies.
The agent SDK carries its own copy of ``verify`` (autopack_client imports no Django)."""

import hashlib
import hmac
import time
from collections.abc import Iterable

HEADER = "X-Autopack-Signature"
TOLERANCE_SECONDS = 300


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The header value for ``body`` signed with ``secret`` at ``timestamp`` (now if None)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(
    secrets: str | Iterable[str],
    header: str,
    body: bytes,
    *,
    tolerance_seconds: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when one of ``secrets`` made one of the header's ``v1`` signatures over ``body``
    within ``tolerance_seconds`` of ``now``; compared in constant time."""
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    timestamp, signatures = None, []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = [_mac(secret, timestamp, body) for secret in candidates if secret]
    # every comparison runs, so the time taken does not say which secret or entry matched
    matches = [hmac.compare_digest(mine, theirs) for mine in expected for theirs in signatures]
    return any(matches)
