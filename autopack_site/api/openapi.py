"""Shared OpenAPI pieces: the one error shape, common headers, and how pydantic models become
components.

Components are named after their class, and a name is one class: two different models with the
same name fail schema generation (``spectacular --fail-on-warn``) instead of one silently
documenting the other's shape. Request bodies are documented as pydantic validates them
(``validation`` mode, components suffixed ``Request``), answers as they are serialised.
"""

import enum
import typing
from typing import Any

from drf_spectacular.drainage import error, set_override
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from pydantic import BaseModel
from pydantic.json_schema import model_json_schema

from autopack_site.api.base import IDEMPOTENCY_KEY
from autopack_site.api.inputs import JSON_COMPONENTS, JSON_OBJECT_MARKER, NUL_FREE, QueryIn


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(BaseModel):
    error: ErrorDetail


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorOut, description=description)


ERROR_RESPONSES = {
    400: error_response(
        "malformed_json (not JSON; NaN and Infinity are not JSON), json_too_deep (nested deeper "
        "than 64 levels), or a bad header such as idempotency_key_invalid."
    ),
    401: error_response("No, malformed, unknown or revoked agent key."),
    403: error_response("The key lacks the scope this endpoint needs."),
    404: error_response("Not found in the key's project."),
    413: error_response("request_too_large: the body is larger than the limit."),
    414: error_response("uri_too_long: the query string is longer than the limit (2048 bytes)."),
    422: error_response(
        "validation_error and other refusals; details.fields has paths (NUL characters, "
        "out-of-range numbers and bidirectional controls in titles are refused here)."
    ),
    429: error_response("throttled: too many requests or long-polls for this key (Retry-After)."),
}


def idempotency_key_header(*, required: bool, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        "Idempotency-Key",
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": IDEMPOTENCY_KEY.pattern,
        },
        location=OpenApiParameter.HEADER,
        required=required,
        description=description,
    )


IDEMPOTENCY_KEY_HEADER = idempotency_key_header(
    required=False,
    description="1-255 printable ASCII characters. Repeat the same key to get the same result "
    "instead of a second effect.",
)


def _named_classes(model: type[BaseModel]) -> dict[str, type]:
    """Every model and enum class a model's schema refers to, by the name pydantic gives it."""
    found: dict[str, type] = {}
    pending: list[Any] = [model]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel | enum.Enum):
            if found.setdefault(annotation.__name__, annotation) is not annotation:
                continue
            if issubclass(annotation, BaseModel):
                pending.extend(field.annotation for field in annotation.model_fields.values())
        elif isinstance(annotation, typing.ForwardRef | str):
            continue
        else:
            pending.extend(typing.get_args(annotation))
    return found


def _without_null(schema: dict) -> dict:
    # An optional query parameter is simply left out; "null" is not a query-string value.
    options = schema.get("anyOf")
    if options and {"type": "null"} in options and len(options) == 2:
        rest = {key: value for key, value in schema.items() if key != "anyOf"}
        rest.pop("default", None)
        return {**next(option for option in options if option != {"type": "null"}), **rest}
    return schema


def _as_accepted(node: Any) -> Any:
    """What inputs.py refuses before any model, said in the request schema: free-form JSON is
    the JsonObject component, and no text holds NUL."""
    if isinstance(node, dict):
        if node.pop(JSON_OBJECT_MARKER, False):
            node["$ref"] = "#/components/schemas/JsonObject"
        if node.get("type") == "string" and "pattern" not in node and "enum" not in node:
            node["pattern"] = NUL_FREE
        for value in node.values():
            _as_accepted(value)
    elif isinstance(node, list):
        for item in node:
            _as_accepted(item)
    return node


class PydanticComponentsExtension(OpenApiSerializerExtension):
    """Replaces drf-spectacular's pydantic support (which renders requests in serialisation
    mode and lets a nested model of one name silently stand for another)."""

    target_class = "pydantic.BaseModel"
    match_subclasses = True
    priority = 1

    def get_name(self, auto_schema, direction):
        # Collisions are checked below, per class, for top-level and nested models alike.
        set_override(self.target, "suppress_collision_warning", True)
        return self.target.__name__

    def map_serializer(self, auto_schema, direction):
        suffix = "Request" if direction == "request" else ""
        registry = auto_schema.registry
        owners: dict[str, type] = registry.__dict__.setdefault("autopack_component_owners", {})
        for name, cls in _named_classes(self.target).items():
            owner = owners.setdefault(name + suffix, cls)
            if owner is not cls:
                error(
                    f"OpenAPI component {name + suffix!r} would stand for both "
                    f"{owner.__module__}.{owner.__qualname__} and "
                    f"{cls.__module__}.{cls.__qualname__}: rename one of them."
                )
        schema = model_json_schema(
            self.target,
            ref_template="#/components/schemas/{model}" + suffix,
            mode="validation" if direction == "request" else "serialization",
        )
        if direction == "request":
            schema = _as_accepted(schema)
        for name, component in JSON_COMPONENTS.items():
            registry.register_on_missing(
                ResolvedComponent(
                    name=name, type=ResolvedComponent.SCHEMA, object=name, schema=component
                )
            )
        for sub_name, sub_schema in schema.pop("$defs", {}).items():
            registry.register_on_missing(
                ResolvedComponent(
                    name=sub_name + suffix,
                    type=ResolvedComponent.SCHEMA,
                    object=owners.get(sub_name + suffix, sub_name),
                    schema=sub_schema,
                )
            )
        if isinstance(self.target, type) and issubclass(self.target, QueryIn):
            schema["properties"] = {
                name: _without_null(field) for name, field in schema["properties"].items()
            }
        return schema
