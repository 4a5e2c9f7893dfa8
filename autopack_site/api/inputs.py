"""What agents may send: one strict base model, the field types every input shares, and the
hygiene every JSON body and query string passes before a model sees it.

PostgreSQL refuses NUL in text and jsonb, JSON has no NaN or Infinity (and ``1e400`` only reads
as infinity), SQLite cannot bind an integer past 64 bits, and bidirectional control characters
make a title or path read differently from what it is. All of that is refused here, once, with
the path of the offending field, so no view and no service meets it.
"""

import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import pydantic_core
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from autopack_site.errors import JSONTooDeep, MalformedJSON, Unprocessable

# Deep enough for any real config or payload; the JSON parser itself stops near 200 levels.
MAX_JSON_DEPTH = 64
# Ids and counters are 64-bit in the database; SQLite cannot even bind a larger integer.
MAX_BIGINT = 2**63 - 1
# U+202A-U+202E (embeddings, overrides) and U+2066-U+2069 (isolates): "Trojan Source".
# U+061C, U+200E and U+200F (marks) reorder text too.
BIDI_CONTROL_CHARS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
BIDI_CONTROLS = re.compile(f"[{BIDI_CONTROL_CHARS}]")
_MAX_FIELD_ERRORS = 20


class StrictIn(BaseModel):
    """Base of every model that reads an agent's body: exact types, unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class QueryIn(BaseModel):
    """Base of query-string models: values arrive as text, unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


def _refuse_bidi(text: str) -> str:
    if BIDI_CONTROLS.search(text):
        raise PydanticCustomError(
            "bidi_control",
            "Bidirectional control characters (U+061C, U+200E, U+200F, U+202A-U+202E, "
            "U+2066-U+2069) are not allowed.",
        )
    return text


def _whole_number(value: Any) -> Any:
    # JSON has one number type: 30.0 is the integer 30 (JSON Schema agrees); 30.5 stays refused.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_RFC3339_START = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]")


def _rfc3339_text(value: Any) -> Any:
    # pydantic would also read "0.5" as a Unix time; the schema promises RFC 3339 text.
    if isinstance(value, str) and not _RFC3339_START.match(value):
        raise PydanticCustomError("datetime_format", "Send an RFC 3339 time with an offset.")
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "The time is out of range.") from None


# A title, name or label a human reads in the admin: no bidirectional control characters.
DisplayText = Annotated[
    str,
    AfterValidator(_refuse_bidi),
    Field(json_schema_extra={"pattern": "^[^\\u0000\\u202a-\\u202e\\u2066-\\u2069]*$"}),
]


def integer(*, ge: int = -MAX_BIGINT, le: int = MAX_BIGINT) -> Any:
    """An integer within bounds that fit the database; 30.0 reads as 30 (JSON has one number
    type, and JSON Schema agrees), 30.5 and "30" are refused."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_whole_number)]


# A primary key as a body field or query parameter.
RowId = integer(ge=1)
NUL_FREE = "^[^\\u0000]*$"
# Free-form JSON (run config, checkpoints, payloads, results): any object whose keys and strings
# hold no NUL, documented as the recursive components below (see PydanticComponentsExtension).
JSON_COMPONENTS = {
    "JsonValue": {
        "description": "Any JSON value; text holds no NUL and nesting stops at 64 levels.",
        "anyOf": [
            {"type": "null"},
            {"type": "boolean"},
            {"type": "number"},
            {"type": "string", "pattern": NUL_FREE},
            {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
            {"$ref": "#/components/schemas/JsonObject"},
        ],
    },
    "JsonObject": {
        "type": "object",
        "propertyNames": {"pattern": NUL_FREE},
        "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
    },
}
# pydantic resolves a "$ref" it did not make, so the field carries a marker the OpenAPI
# extension turns into the reference.
JSON_OBJECT_MARKER = "x-autopack-json-object"
JsonObject = Annotated[dict[str, Any], WithJsonSchema({JSON_OBJECT_MARKER: True})]
# An aware time, normalised to UTC (a naive time or one that overflows UTC is refused).
AwareTime = Annotated[AwareDatetime, AfterValidator(_utc), BeforeValidator(_rfc3339_text)]


def decimal_string(*, whole_digits: int, places: int) -> Any:
    """A non-negative amount sent as a decimal string ("12.50"), never a binary float."""
    pattern = rf"^\d{{1,{whole_digits}}}(\.\d{{1,{places}}})?$"
    matcher = re.compile(pattern)

    def parse(value: Any) -> Any:
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str) or not matcher.fullmatch(value):
            raise PydanticCustomError(
                "decimal_string",
                "Send a non-negative decimal string such as '12.50' "
                "(at most {whole} digits before the point and {places} after).",
                {"whole": whole_digits, "places": places},
            )
        return Decimal(value)

    return Annotated[
        Decimal, PlainValidator(parse), WithJsonSchema({"type": "string", "pattern": pattern})
    ]


def check_json_body(raw: bytes) -> None:
    """Refuses a body that is not JSON or that holds what storage cannot (see module doc).

    Parses once with pydantic's own JSON reader, so a body that passes here reads the same
    way when the model validates it."""
    try:
        document = pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        reason = str(exc)
        if "recursion limit" in reason:
            raise JSONTooDeep(
                f"The body nests deeper than {MAX_JSON_DEPTH} levels.",
                details={"max_depth": MAX_JSON_DEPTH},
            ) from None
        raise MalformedJSON(
            "The body is not valid JSON (NaN and Infinity are not JSON).",
            details={"reason": reason},
        ) from None
    problems: list[dict[str, str]] = []
    _walk(document, (), problems)
    if problems:
        raise Unprocessable(
            "The body holds values that cannot be stored.",
            details={"fields": problems[:_MAX_FIELD_ERRORS]},
        )


def check_query(params: dict[str, str]) -> None:
    problems = [
        _problem((name,), "string_nul", "NUL (\\u0000) is not allowed in text.")
        for name, value in params.items()
        if "\x00" in name or "\x00" in value
    ]
    if problems:
        raise Unprocessable("The query string holds NUL characters.", details={"fields": problems})


def _walk(value: Any, path: tuple, problems: list[dict[str, str]]) -> None:
    # Iterative over a stack: depth is bounded by the check itself, not by Python's recursion.
    stack = [(value, path)]
    while stack and len(problems) < _MAX_FIELD_ERRORS:
        value, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                problems.append(
                    _problem(path, "string_nul", "NUL (\\u0000) is not allowed in text.")
                )
        elif isinstance(value, float):
            if not math.isfinite(value):
                problems.append(
                    _problem(path, "number_out_of_range", "The number is out of range.")
                )
        elif isinstance(value, dict | list):
            if len(path) >= MAX_JSON_DEPTH:
                raise JSONTooDeep(
                    f"The body nests deeper than {MAX_JSON_DEPTH} levels.",
                    details={"max_depth": MAX_JSON_DEPTH, "path": _dotted(path)},
                )
            if isinstance(value, dict):
                for key, item in value.items():
                    if "\x00" in key:
                        problems.append(
                            _problem(
                                (*path, key), "string_nul", "NUL (\\u0000) is not allowed in keys."
                            )
                        )
                    stack.append((item, (*path, key)))
            else:
                stack.extend((item, (*path, index)) for index, item in enumerate(value))


def _dotted(path: tuple) -> str:
    return ".".join(str(part).replace("\x00", "\\u0000") for part in path) or "(body)"


def _problem(path: tuple, kind: str, message: str) -> dict[str, str]:
    return {"path": _dotted(path), "message": message, "type": kind}
