"""The base every agent endpoint inherits: authenticated by an agent key, scoped to its project.

Views never see a bare queryset. They reach rows through selectors that take ``project=`` as a
required keyword, via ``self.get_scoped``; another project's row is simply not found (404).
"""

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel
from rest_framework.views import APIView

from autopack_site.errors import NotFound
from autopack_site.models import AgentKey, Project

ModelT = TypeVar("ModelT", bound=BaseModel)
RowT = TypeVar("RowT")


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
        """Strict pydantic over the raw JSON body; errors leave as 400 (bad JSON) or 422.

        Resolve scoped rows first: another project's id must be a 404 whatever the body says."""
        raw = self.request.body or b"{}"
        return schema.model_validate_json(raw)

    def parse_query(self, schema: type[ModelT]) -> ModelT:
        return schema.model_validate(self.request.query_params.dict(), strict=False)

    def get_scoped(self, selector: Callable[..., RowT | None], what: str, **lookup) -> RowT:
        row = selector(project=self.project, **lookup)
        if row is None:
            raise NotFound(f"No such {what} in this project.")
        return row
