import re
import uuid

from django.conf import settings

from autopack_site.errors import error_response
from autopack_site.request_context import current_request_id

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIDMiddleware:
    """Takes X-Request-ID from the caller when it is sane, otherwise makes one; echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class BodySizeLimitMiddleware:
    """Refuses oversized bodies (413) and query strings (414) before anything reads them, in the
    one error shape. gunicorn refuses request lines beyond its own limit (8190 bytes, see
    gunicorn.conf.py) before Django sees them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.AUTOPACK_MAX_BODY_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "bad_content_length", "Content-Length is not a number.")
        if declared > limit:
            return error_response(
                413,
                "request_too_large",
                f"The request body is {declared} bytes; the limit is {limit}.",
                {"limit_bytes": limit, "content_length": declared},
            )
        query_limit = settings.AUTOPACK_MAX_QUERY_BYTES
        query_length = len(request.META.get("QUERY_STRING", ""))
        if query_length > query_limit:
            return error_response(
                414,
                "uri_too_long",
                f"The query string is {query_length} bytes; the limit is {query_limit}.",
                {"limit_bytes": query_limit, "query_bytes": query_length},
            )
        return self.get_response(request)
