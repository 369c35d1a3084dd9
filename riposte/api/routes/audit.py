"""GET /v1/audit: the audit trail, filtered, as JSON or CSV, streamed whole or paginated (with
`limit`); and its verification."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field, field_validator

from riposte.api.auth import Permission, require
from riposte.api.context import ApiContext, api_context
from riposte.api.errors import Problem
from riposte.api.tokens import Principal
from riposte.audit.events import AuditEvent, AuditFilter, AuditKind, VerifyResult
from riposte.audit.export import ExportFormat, events_of, stream, to_csv
from riposte.audit.store import AuditStore
from riposte.model import Frozen

router = APIRouter(prefix="/v1", tags=["audit"])
Auditor = Annotated[Principal, Depends(require(Permission.READ_AUDIT))]
Context = Annotated[ApiContext, Depends(api_context)]
NEXT_HEADER = "X-Next-After-Seq"
_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem},
    422: {"model": Problem},
}


class AuditFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class AuditQuery(Frozen):
    """Every filter narrows the result; `since` <= time < `until`. Without `limit`, every event
    that passes, streamed; with it, one page, and the next follows `after_seq`."""

    since: datetime | None = None
    until: datetime | None = None
    response_id: str | None = None
    target: str | None = None
    action: str | None = None
    actor: str | None = None
    policy: str | None = None
    kind: AuditKind | None = None
    after_seq: int = Field(default=0, ge=0)
    limit: int | None = Field(default=None, ge=1, le=1000)
    format: AuditFormat = AuditFormat.JSON

    @field_validator("since", "until")
    @classmethod
    def _utc_unless_said(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def filter(self) -> AuditFilter:
        fields = self.model_dump(exclude={"format", "limit"})
        more = None if self.limit is None else self.limit + 1  # one more: is there a next page?
        return AuditFilter(**fields, limit=more)


class AuditPage(Frozen):
    events: tuple[AuditEvent, ...]
    next_after_seq: int | None = None  # pass as after_seq for the next page; None: the last


async def page(store: AuditStore, query: AuditQuery, limit: int) -> AuditPage:
    found = await asyncio.to_thread(
        store.query, query.filter().model_copy(update={"limit": limit + 1})
    )
    events = found[:limit]
    more = len(found) > limit
    return AuditPage(events=tuple(events), next_after_seq=events[-1].seq if more else None)


def _whole(store: AuditStore, query: AuditQuery) -> Iterator[str]:
    """Every event that passes, as the one page there is, a chunk of the store at a time (a
    blocking iterator: Starlette runs it off the event loop)."""
    events = events_of(store, query.filter())
    if query.format is AuditFormat.CSV:
        yield from stream(events, ExportFormat.CSV)
        return
    yield '{"events": '
    yield from stream(events, ExportFormat.JSON)
    yield ', "next_after_seq": null}\n'


@router.get(
    "/audit",
    responses={
        **_REFUSALS,
        200: {"model": AuditPage, "content": {"text/csv": {"schema": {"type": "string"}}}},
    },
)
async def get_audit(
    request: Request, query: Annotated[AuditQuery, Query()], _: Auditor, ctx: Context
) -> Response:
    """Audit events in seq order: all of them, streamed, or with `limit` a page, whose next
    page's `after_seq` is in a header (and in the JSON)."""
    if query.limit is None:
        csv = query.format is AuditFormat.CSV
        return StreamingResponse(
            _whole(ctx.audit, query),
            media_type="text/csv; charset=utf-8" if csv else "application/json",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'} if csv else {},
        )
    result = await page(ctx.audit, query, query.limit)
    headers: dict[str, str] = {}
    if result.next_after_seq is not None:
        headers[NEXT_HEADER] = str(result.next_after_seq)
        following = request.url.include_query_params(after_seq=result.next_after_seq)
        headers["Link"] = f'<{following}>; rel="next"'
    if query.format is AuditFormat.CSV:
        return Response(
            to_csv(result.events),
            media_type="text/csv; charset=utf-8",
            headers={**headers, "Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    return JSONResponse(result.model_dump(mode="json"), headers=headers)


@router.get("/audit/verify", responses=_REFUSALS)
async def verify_audit(_: Auditor, ctx: Context) -> VerifyResult:
    """Walk the whole chain and report every place where it breaks."""
    return await asyncio.to_thread(ctx.audit.verify)
