"""The base every agent endpoint inherits: authenticated by an agent key, scoped to its project.

Views never see a bare queryset. They reach rows through selectors that take ``project=`` as a
required keyword, via ``self.get_scoped``; another project's row is simply not found (404).
"""

import re
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel
from rest_framework.views import APIView

from autopack_site.api.inputs import check_json_body, check_query
from autopack_site.errors import DomainError, NotFound
from autopack_site.models import AgentKey, Project

ModelT = TypeVar("ModelT", bound=BaseModel)
RowT = TypeVar("RowT")
IDEMPOTENCY_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")


class ProjectScopedAPIView(APIView):
    read_scopes: tuple[str, ...] = ("read",)
    write_scopes: tuple[str, ...] = ()

    @property
    def agent_key(self) -> AgentKey:
        return self.request.auth

    @property
    def project(self) -> Project:
        return self.request.auth.project

    def parse_body(self, schema: type[ModelT]) -> ModelT:
        """Strict pydantic over the raw JSON body, after the hygiene every body passes
        (autopack_site/api/inputs.py); errors leave as 400 (not JSON, too deep) or 422.

        Resolve scoped rows first: another project's id must be a 404 whatever the body says."""
        raw = self.request.body or b"{}"
        check_json_body(raw)
        return schema.model_validate_json(raw)

    def parse_query(self, schema: type[ModelT]) -> ModelT:
        params = self.request.query_params.dict()
        check_query(params)
        return schema.model_validate(params)

    def idempotency_key(self, *, required: bool) -> str | None:
        """The Idempotency-Key header: 1-255 printable ASCII characters, or 400."""
        key = self.request.headers.get("Idempotency-Key")
        if key is None:
            if required:
                raise DomainError(
                    "The Idempotency-Key header is required.", code="idempotency_key_required"
                )
            return None
        if not IDEMPOTENCY_KEY.match(key):
            raise DomainError(
                "Idempotency-Key must be 1-255 printable ASCII characters.",
                code="idempotency_key_invalid",
            )
        return key

    def get_scoped(self, selector: Callable[..., RowT | None], what: str, **lookup) -> RowT:
        row = selector(project=self.project, **lookup)
        if row is None:
            raise NotFound(f"No such {what} in this project.")
        return row
