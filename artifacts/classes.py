"""Artifact classes: how long each is kept, whether it is redacted and encrypted, and whether
it is archived rather than deleted when its time is up. The issue's table, as data."""

from dataclasses import dataclass

from artifacts.models import ArtifactClass as C


@dataclass(frozen=True)
class ClassRule:
    days: int | None  # None: refused, never stored
    redact: bool = False  # must be redactable (text, JSON, HAR); binary content is refused
    encrypt: bool = False  # needs AUTOPACK_ARTIFACT_KEYS; refused without
    archive: bool = False  # at expiry: archived (kept, read-only), never deleted

    @property
    def refused(self) -> bool:
        return self.days is None


RULES: dict[str, ClassRule] = {
    C.RUN_LOG: ClassRule(90),
    C.DEBUG_LOG: ClassRule(30),
    C.ERROR_LOG: ClassRule(90, redact=True),
    C.SCREENSHOT: ClassRule(30),
    C.VIDEO: ClassRule(14),
    C.HAR_LOG: ClassRule(7, redact=True, encrypt=True),
    C.BROWSER_STATE: ClassRule(1, redact=True, encrypt=True),
    C.API_RESPONSE: ClassRule(30, redact=True),
    C.CREDENTIAL_ARTIFACT: ClassRule(None),
    C.PII_ARTIFACT: ClassRule(30, redact=True, encrypt=True),
    C.AUDIT_LOG: ClassRule(365, archive=True),
    C.APPROVAL_RECORD: ClassRule(365, archive=True),
    C.HANDOFF_CONTEXT: ClassRule(90, redact=True),
}
