"""Output contracts for sub-agent handoffs, one per kind: the sections an answer must have, its
maximum length, and the guardrails every answer passes (no secrets, file references relative
and inside the run's directory and existing, side-effect language flagged — refused in strict
mode). The shape is a pydantic model; its JSON schema is what the brief hands the sub-agent."""

import re
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import unquote_plus

from pydantic import Field

from artifacts.models import HandoffKind
from autopack_site.api.inputs import RowId, StrictIn
from autopack_site.redaction import SECRET_ASSIGNMENT, contains_credential, credential_paths


@dataclass(frozen=True)
class Contract:
    sections: tuple[str, ...]
    max_chars: int
    purpose: str


CONTRACTS: dict[str, Contract] = {
    HandoffKind.RESEARCH: Contract(
        ("summary", "findings", "sources"),
        20_000,
        "Find out what is known; cite where it comes from.",
    ),
    HandoffKind.PLANNING: Contract(
        ("summary", "plan", "risks"),
        20_000,
        "Propose the steps to reach the objective and what could go wrong.",
    ),
    HandoffKind.ANALYSIS: Contract(
        ("summary", "analysis", "recommendation"),
        20_000,
        "Examine what the run produced and recommend what to do next.",
    ),
}

SectionName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class HandoffOutputIn(StrictIn):
    """What a sub-agent submits for the brief ``handoff_id``."""

    handoff_id: RowId
    sections: dict[SectionName, Annotated[str, Field(max_length=100_000)]] = Field(max_length=20)
    confidence: float = Field(ge=0.0, le=1.0)
    file_references: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list, max_length=50
    )


# Language that claims or instructs an action with effects outside the sub-agent's answer: a
# research, planning or analysis sub-agent reports; it does not act.
SIDE_EFFECT = re.compile(
    r"(?i)\b(?:I|we)\s+(?:have\s+|just\s+|already\s+)?"
    r"(?:deployed|sent|emailed|e-mailed|posted|published|pushed|merged|deleted|dropped|"
    r"executed|ran|transferred|paid|purchased|bought|sold|placed|submitted|refunded|"
    r"cancelled|canceled|charged|wired|committed)\b"
    r"|\b(?:rm\s+-rf|DROP\s+TABLE|git\s+push|curl\s+-X\s*(?:POST|PUT|DELETE))\b"
)


@dataclass(frozen=True)
class Verdict:
    problems: list[dict[str, str]]
    warnings: list[dict[str, str]]


def check_output(
    output: HandoffOutputIn, *, kind: str, strict: bool, run_files: set[str]
) -> Verdict:
    from artifacts.storage import name_problem

    contract = CONTRACTS[kind]
    problems: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    for section in contract.sections:
        if not output.sections.get(section, "").strip():
            problems.append(
                {
                    "code": "missing_section",
                    "section": section,
                    "message": f"The {kind} contract requires a non-empty '{section}' section.",
                }
            )
    length = sum(len(text) for text in output.sections.values())
    if length > contract.max_chars:
        problems.append(
            {
                "code": "too_long",
                "message": f"The sections hold {length} characters; the {kind} contract "
                f"allows {contract.max_chars}.",
            }
        )
    for reference in output.file_references:
        if name_problem(reference):
            problems.append(
                {
                    "code": "file_outside_run",
                    "reference": reference[:300],
                    "message": "File references are relative paths inside the run's directory.",
                }
            )
        elif reference not in run_files:
            problems.append(
                {
                    "code": "file_missing",
                    "reference": reference,
                    "message": "No artifact of this run has that name.",
                }
            )
    # each section as written and URL-decoded: "password%3Dx" is "password=x" to whoever reads it
    secrets = credential_paths(output.sections, "sections")
    secrets += [
        f"sections.{name}"
        for name, text in output.sections.items()
        if f"sections.{name}" not in secrets
        and any(
            SECRET_ASSIGNMENT.search(spelling) or contains_credential(spelling)
            for spelling in (text, unquote_plus(text))
        )
    ]
    for where in secrets:
        problems.append(
            {
                "code": "secret_in_output",
                "where": where,
                "message": "The answer holds something that looks like a credential; it is "
                "refused, not stored.",
            }
        )
    for name, text in output.sections.items():
        for match in SIDE_EFFECT.finditer(text):
            entry = {
                "code": "side_effect_language",
                "section": name,
                "excerpt": match.group(0)[:80],
                "message": "A sub-agent reports; it does not act. Claims of actions with "
                "effects are " + ("refused in strict mode." if strict else "flagged."),
            }
            (problems if strict else warnings).append(entry)
    return Verdict(problems, warnings)


def contract_schema(kind: str) -> dict:
    contract = CONTRACTS[kind]
    schema = HandoffOutputIn.model_json_schema()
    schema["properties"]["sections"]["required"] = list(contract.sections)
    schema["x-max-chars"] = contract.max_chars
    return schema
