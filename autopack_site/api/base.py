"""The base every agent endpoint inherits: authenticated by an agent key, scoped to its project.

Views never see a bare queryset. They reach rows through selectors that take ``project=`` as a
required keyword, via ``self.get_scoped``; another project's row is simply not found (404).
"""

import re
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from pydantic import BaseModel
from rest_framework.views import APIView

from autopack_site.api.inputs import check_json_body, check_query
from autopack_site.changes import wait_for
from autopack_site.errors import DomainError, NotFound
from autopack_site.fair_use import long_poll_slot
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

    def keyset_page(
        self, rows: QuerySet, *, before: int | None, limit: int
    ) -> tuple[list, int | None]:
        """Newest first, ``limit`` rows with an id below ``before``; and the ``before`` of the
        next page (None on the last)."""
        if before:
            rows = rows.filter(pk__lt=before)
        page = list(rows.order_by("-pk")[: limit + 1])
        more = len(page) > limit
        page = page[:limit]
        return page, (page[-1].pk if more else None)

    def long_poll(
        self,
        fetch: Callable[[], RowT],
        *,
        still_waiting: Callable[[RowT], bool],
        topic: str,
        wait: float,
    ) -> RowT:
        """``fetch()`` again until the row stops waiting or ``wait`` seconds pass. While it
        waits the request holds no database connection and one of the key's long-poll slots;
        an announcement of ``topic`` (autopack_site/changes.py) wakes it at once."""
        row = fetch()
        if wait <= 0 or not still_waiting(row):
            return row
        deadline = time.monotonic() + wait
        with long_poll_slot(self.agent_key, seconds=wait):
            while still_waiting(row):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if not connection.in_atomic_block:
                    connection.close()  # given back while waiting; the next fetch reconnects
                wait_for(topic, min(remaining, settings.AUTOPACK_LONG_POLL_RECHECK_SECONDS))
                row = fetch()
        return row
