"""Liveness, readiness and metrics: open to probes and scrapers, no credentials needed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from temporalio.service import RPCError

from riposte.api.context import ApiContext, api_context
from riposte.api.metrics import CONTENT_TYPE
from riposte.audit.events import AuditFilter
from riposte.audit.store import SQLITE_PREFIX
from riposte.errors import RiposteError
from riposte.model import Frozen

router = APIRouter(tags=["health"])
Context = Annotated[ApiContext, Depends(api_context)]
_PROBE_SECONDS = 5.0


class Health(Frozen):
    status: str


class Readiness(Frozen):
    ready: bool
    temporal: str  # "ok" or why not
    audit: str


@router.get("/healthz")
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", responses={503: {"model": Readiness}})
async def readyz(ctx: Context) -> JSONResponse:
    """Temporal answers and the audit store accepts writes; 503 otherwise."""
    temporal, audit = await asyncio.gather(_temporal(ctx), _audit(ctx))
    ready = temporal == "ok" and audit == "ok"
    body = Readiness(ready=ready, temporal=temporal, audit=audit)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
async def metrics(ctx: Context) -> Response:
    """Prometheus exposition: intake, responses, actions and approval wait times."""
    return Response(await ctx.metrics.render(ctx.audit), media_type=CONTENT_TYPE)


async def _temporal(ctx: ApiContext) -> str:
    try:
        await asyncio.wait_for(ctx.service.list(limit=1), _PROBE_SECONDS)
    except (RiposteError, RPCError, TimeoutError, RuntimeError) as err:
        # RuntimeError: the SDK's own "failed client connect" when it cannot (re)connect.
        return f"unreachable: {type(err).__name__}"
    return "ok"


async def _audit(ctx: ApiContext) -> str:
    try:
        await asyncio.wait_for(
            asyncio.to_thread(ctx.audit.query, AuditFilter(limit=1)), _PROBE_SECONDS
        )
    except (RiposteError, TimeoutError) as err:
        return f"unavailable: {type(err).__name__}"
    url = ctx.settings.audit_store_url
    if url.startswith(SQLITE_PREFIX) and not _writable(Path(url.removeprefix(SQLITE_PREFIX))):
        return "read-only"
    return "ok"


def _writable(database: Path) -> bool:
    """SQLite needs to write the file and, for its journal, the folder it is in."""
    return os.access(database, os.W_OK) and os.access(database.parent, os.W_OK)
