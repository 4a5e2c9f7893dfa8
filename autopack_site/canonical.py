"""Canonical JSON and its SHA-256: the byte form every hash in Autopack is taken over.

Sorted keys, no insignificant whitespace, UTF-8 (non-ASCII kept as is). Numbers are written
as Python's json writes them: integers exactly, floats by their shortest round-trip repr, so
1.0 and 1 hash differently; send amounts as strings if that matters to you.
"""

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()
