"""YouTube Data API v3: videos.insert (metadata part); our reference is a tag, looked up with
search.list(forMine=true, q=<tag>)."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from ledger.providers.base import (
    ActionPayload,
    LookupResult,
    PreparedRequest,
    ProviderAdapter,
    SideEffect,
    get_json,
)


class Snippet(ActionPayload):
    title: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=5000)
    tags: list[str] = Field(default_factory=list, max_length=30)
    categoryId: str = Field(default="22", pattern=r"^\d+$")


class Status(ActionPayload):
    privacyStatus: Literal["private", "unlisted", "public"] = "private"
    publishAt: datetime | None = None
    selfDeclaredMadeForKids: bool = False


class VideoInsert(ActionPayload):
    snippet: Snippet
    status: Status = Field(default_factory=Status)


def _tag(reference: str) -> str:
    return f"autopack-{reference}"


class YouTubeAdapter(ProviderAdapter):
    name = "youtube"
    actions = {"videos.insert": VideoInsert}
    dedupes_by_reference = False
    default_base_url = "https://www.googleapis.com"
    # the provider's public token endpoint, not a secret:
    oauth_token_url = "https://oauth2.googleapis.com/token"  # nosec B105

    def prepare(self, action, payload: VideoInsert, *, reference, ctx):
        body = payload.model_dump(mode="json", exclude_none=True)
        body["snippet"]["tags"] = [*payload.snippet.tags, _tag(reference)]
        return PreparedRequest(
            method="POST",
            url=f"{ctx.base_url.rstrip('/')}/youtube/v3/videos?part=snippet,status",
            headers={"Authorization": f"Bearer {ctx.secret}", "Content-Type": "application/json"},
            body=body,
            secret_headers=("Authorization",),
        )

    def side_effects(self, action, payload: VideoInsert):
        public = payload.status.privacyStatus == "public" or payload.status.publishAt is not None
        return [
            SideEffect(
                type="publish" if public else "create",
                target=f"video {payload.snippet.title!r} ({payload.status.privacyStatus})",
                reversible=True,
            )
        ]

    def reference_of(self, action, body) -> str:
        return str(body.get("id", ""))

    def summary_of(self, action, body):
        return {
            "id": body.get("id"),
            "privacyStatus": (body.get("status") or {}).get("privacyStatus"),
        }

    def lookup(self, action, payload, *, reference, ctx) -> LookupResult:
        response = get_json(
            f"{ctx.base_url.rstrip('/')}/youtube/v3/search",
            {"Authorization": f"Bearer {ctx.secret}"},
            ctx,
            trusted=self.trusted_urls(ctx),
            params={"part": "id", "forMine": "true", "type": "video", "q": _tag(reference)},
        )
        body = self.check(response)
        items = body.get("items") or []
        if not items:
            return LookupResult(state="absent")
        video_id = items[0]["id"]["videoId"]
        return LookupResult(state="found", provider_reference=video_id, summary={"id": video_id})
