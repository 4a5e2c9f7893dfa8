"""Agent key format: ``apk_<prefix>_<secret>``. Only the prefix and an HMAC are stored."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings

KEY_MARKER = "apk"


@dataclass(frozen=True)
class MintedKey:
    plaintext: str
    prefix: str
    key_hash: str


def hash_key(plaintext: str) -> str:
    pepper = settings.AUTOPACK_KEY_PEPPER.encode()
    return hmac.new(pepper, plaintext.encode(), hashlib.sha256).hexdigest()


def mint_key() -> MintedKey:
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_MARKER}_{prefix}_{secrets.token_urlsafe(32)}"
    return MintedKey(plaintext=plaintext, prefix=prefix, key_hash=hash_key(plaintext))


def split_prefix(plaintext: str) -> str | None:
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_MARKER or len(parts[1]) != 12:
        return None
    return parts[1]


def key_matches(plaintext: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), key_hash)
