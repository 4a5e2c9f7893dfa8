"""Encryption at rest for the few secrets the platform must be able to read back (a project's
webhook signing secret: signing needs the secret itself, a hash would not do).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under MultiFernet: the first key
encrypts, every key decrypts, so keys rotate without a flag day. The keys come from
AUTOPACK_ENCRYPTION_KEYS, or are derived from SECRET_KEY and then SECRET_KEY_FALLBACKS, so
rotating SECRET_KEY the Django way (old key into the fallbacks) keeps stored secrets readable.
A database dump alone reveals nothing; the dump plus the keys reveals everything."""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

__all__ = [
    "InvalidToken",
    "NoEncryptionKey",
    "file_encryption_configured",
    "open_sealed",
    "open_sealed_bytes",
    "seal",
    "seal_bytes",
]


def _derived_key(secret: str) -> bytes:
    digest = salted_hmac("autopack.encryption", "fernet-key", secret=secret, algorithm="sha256")
    return base64.urlsafe_b64encode(digest.digest())


def _keyring() -> MultiFernet:
    keys = list(settings.AUTOPACK_ENCRYPTION_KEYS) or [
        _derived_key(secret)
        for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    ]
    return MultiFernet([Fernet(key) for key in keys])


def seal(plaintext: str) -> str:
    return _keyring().encrypt(plaintext.encode()).decode()


def open_sealed(token: str) -> str:
    """The plaintext, or InvalidToken when no configured key opens it."""
    return _keyring().decrypt(token.encode()).decode()


# --- files at rest (run artifacts) ------------------------------------------------------------
# Their keys are never derived: whoever stores personal data or browser state says so by
# configuring AUTOPACK_ARTIFACT_KEYS, and the classes that need encryption are refused without.


class NoEncryptionKey(Exception):
    """AUTOPACK_ARTIFACT_KEYS is empty: nothing can be stored encrypted."""


def _file_keyring() -> MultiFernet:
    keys = list(settings.AUTOPACK_ARTIFACT_KEYS)
    if not keys:
        raise NoEncryptionKey("AUTOPACK_ARTIFACT_KEYS is not configured.")
    return MultiFernet([Fernet(key) for key in keys])


def file_encryption_configured() -> bool:
    return bool(settings.AUTOPACK_ARTIFACT_KEYS)


def seal_bytes(data: bytes) -> bytes:
    """``data`` encrypted with the first artifact key (NoEncryptionKey without one)."""
    return _file_keyring().encrypt(data)


def open_sealed_bytes(token: bytes) -> bytes:
    """The plaintext under any configured artifact key; InvalidToken when none opens it. An old
    key left in the list keeps files written under it readable after a rotation."""
    return _file_keyring().decrypt(token)
