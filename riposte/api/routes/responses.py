"""GET /v1/responses and /v1/responses/{id}: what the engine did or plans to do about an alert."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from riposte.api.auth import Permission, require
from riposte.api.context import ApiContext, api_context
from riposte.api.errors import Problem
from riposte.api.tokens import Principal
from riposte.response import ResponseStatus, ResponseView
from riposte.service import ResponseSummary

router = APIRouter(prefix="/v1", tags=["responses"])
Reader = Annotated[Principal, Depends(require(Permission.READ_RESPONSES))]
Context = Annotated[ApiContext, Depends(api_context)]


@router.get(
    "/responses",
    responses={401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}},
)
async def list_responses(
    _: Reader,
    ctx: Context,
    status: ResponseStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[ResponseSummary]:
    """The most recent responses, newest first, optionally only those in one status."""
    return await ctx.service.list(status, limit)


@router.get(
    "/responses/{response_id:path}",
    responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}},
)
async def get_response(response_id: str, _: Reader, ctx: Context) -> ResponseView:
    """One response: its alert, the policies that matched, and each action's state."""
    return await ctx.service.view(response_id)
