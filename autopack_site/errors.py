"""One error shape for every API error: {"error": {"code", "message", "details"}}.

Services raise DomainError subclasses; views never build error bodies by hand.
"""

import logging
from typing import Any

import pydantic
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal the caller can act on. Subclasses fix the status and code."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Unprocessable(DomainError):
    status_code = 422
    code = "validation_error"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class MalformedJSON(DomainError):
    status_code = 400
    code = "malformed_json"


class JSONTooDeep(DomainError):
    status_code = 400
    code = "json_too_deep"


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(status: int, code: str, message: str, details: dict | None = None):
    return JsonResponse(error_body(code, message, details), status=status)


def pydantic_error_details(exc: pydantic.ValidationError) -> dict[str, Any]:
    fields = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        fields.append(
            {
                "path": ".".join(str(part) for part in err["loc"]) or "(body)",
                "message": err["msg"],
                "type": err["type"],
            }
        )
    return {"fields": fields}


def _drf_field_details(detail, prefix: str = "") -> list[dict[str, str]]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            out.extend(_drf_field_details(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [{"path": prefix or "(body)", "message": str(item)} for item in detail]
        out = []
        for index, item in enumerate(detail):
            out.extend(_drf_field_details(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return [{"path": prefix or "(body)", "message": str(detail)}]


_DRF_CODES = {
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
    drf_exceptions.ParseError: "malformed_json",
}


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every exception leaves through here."""
    headers = {}
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, pydantic.ValidationError):
        json_errors = [e for e in exc.errors() if e["type"] == "json_invalid"]
        if json_errors:
            return Response(
                error_body(
                    "malformed_json",
                    "The body is not valid JSON.",
                    {"reason": json_errors[0]["msg"]},
                ),
                status=400,
            )
        return Response(
            error_body(
                "validation_error", "The body failed validation.", pydantic_error_details(exc)
            ),
            status=422,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("request_too_large", str(exc)), status=413)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, drf_exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, drf_exceptions.ValidationError):
            return Response(
                error_body(
                    "validation_error",
                    "The request failed validation.",
                    {"fields": _drf_field_details(exc.detail)},
                ),
                status=422 if exc.status_code == 400 else exc.status_code,
                headers=headers,
            )
        code = _DRF_CODES.get(type(exc), getattr(exc, "default_code", "error"))
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return Response(error_body(code, str(message)), status=exc.status_code, headers=headers)
    logger.exception("unhandled API error")
    return Response(error_body("internal_error", "Something went wrong on our side."), status=500)


def json_404(request, exception=None):
    return error_response(404, "not_found", "No such resource.")


def json_500(request):
    return error_response(500, "internal_error", "Something went wrong on our side.")


def handler404(request, exception=None):
    """JSON under /api/, Django's page elsewhere (the admin)."""
    if request.path.startswith("/api/"):
        return json_404(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return json_500(request)
    from django.views.defaults import server_error

    return server_error(request)
