"""POST /v1/alerts: intake for alerting systems, one alert or a batch."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from riposte.adapters import AUTO, SUPPORTED_FORMATS
from riposte.alerts import Alert, AlertCaps
from riposte.api import intake
from riposte.api.auth import Permission, deny, require
from riposte.api.context import ApiContext, api_context
from riposte.api.errors import Forbidden, Problem, Unauthenticated, problem_of
from riposte.api.intake import BatchAnswer, ItemAnswer
from riposte.api.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from riposte.api.tokens import Principal
from riposte.errors import RiposteError, UnknownFormat
from riposte.service import Submission

log = structlog.get_logger("riposte.api")
router = APIRouter(prefix="/v1", tags=["alerts"])
FORMATS = (AUTO, *SUPPORTED_FORMATS)

_NATIVE_EXAMPLE = {
    "id": "dt-30960",
    "source": "darktrace",
    "name": "SaaS / Compromise / Unusual Login and New Email Rule",
    "severity": "high",
    "score": 0.93,
    "time": "2021-06-09T09:12:00Z",
    "entities": {"user": "b.smith@contoso.com", "ip": "198.51.100.7", "asn": "AS64500"},
}
_HEADER = {"in": "header", "required": False, "schema": {"type": "string"}}
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "One alert (native, Darktrace model breach, Graph security alert v2 or Sentinel "
            "incident), a JSON array of them, or NDJSON (one a line) for a batch."
        ),
        "content": {
            "application/json": {
                "schema": {"type": ["object", "array"]},
                "example": _NATIVE_EXAMPLE,
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    },
    "parameters": [
        {"name": TIMESTAMP_HEADER, "description": "Unix seconds, when signing is on", **_HEADER},
        {"name": SIGNATURE_HEADER, "description": "sha256=HMAC(secret, ts.body)", **_HEADER},
    ],
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    202: {"model": Submission | BatchAnswer, "description": "accepted (every item, for a batch)"},
    207: {"model": BatchAnswer, "description": "a batch with refused items, each answered"},
    400: {"model": Problem, "description": "malformed JSON, with its line and column"},
    401: {"model": Problem, "description": "no or unknown token, or a bad or replayed signature"},
    403: {
        "model": Problem,
        "description": "a role that may not send alerts, or a source the token is not bound to",
    },
    413: {"model": Problem, "description": "a body over the size limit"},
    422: {"model": Problem, "description": "a schema violation or an unknown format"},
}


@router.post("/alerts", status_code=202, responses=_ANSWERS, openapi_extra=_BODY)
async def post_alerts(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.SEND_ALERTS))],
    ctx: Annotated[ApiContext, Depends(api_context)],
    fmt: Annotated[
        str, Query(alias="format", description=f"one of: {', '.join(FORMATS)}")
    ] = "auto",
) -> JSONResponse:
    """Start a response to each alert, or join the one already running for it."""
    try:
        body = await request.body()
        await _check_signature(ctx, request, principal, body)
        if fmt not in FORMATS:
            raise UnknownFormat(f"no adapter reads format {fmt!r}", location="format")
        ndjson = intake.is_ndjson(request.headers.get("content-type", ""))
        # Off the event loop: parsing is linear, but a megabyte of it must not stall /healthz.
        decoded, parsed = await anyio.to_thread.run_sync(
            _parse, body, ndjson, fmt, ctx.settings.alert_caps
        )
    except RiposteError as err:
        ctx.metrics.alerts_refused.labels(problem_of(err)[1].error.value).inc()
        raise
    parsed, unbound = intake.bind(parsed, principal)
    if unbound:
        claimed = ", ".join(unbound)
        await deny(ctx, request, Forbidden(f"claimed source {claimed}, not bound to"), principal)
    answers = await intake.submit_batch(ctx.service, parsed, principal.name)
    _count(ctx, answers, intake.sources(parsed), principal)
    if decoded.batch:
        batch = intake.tally(answers)
        return JSONResponse(
            batch.model_dump(mode="json"), status_code=207 if batch.refused else 202
        )
    only = answers[0]
    if only.error is not None:
        body_json = only.error.model_dump(mode="json", exclude_defaults=True)
        return JSONResponse(body_json, status_code=only.status)
    submission = Submission(response_id=only.response_id or "", duplicate=bool(only.duplicate))
    return JSONResponse(submission.model_dump(mode="json"), status_code=202)


def _parse(
    body: bytes, ndjson: bool, fmt: str, caps: AlertCaps
) -> tuple[intake.Decoded, list[ItemAnswer | tuple[intake.Item, Alert]]]:
    decoded = intake.decode(body, ndjson=ndjson, fmt=fmt)
    return decoded, intake.parse_items(decoded.items, fmt, FORMATS, caps)


async def _check_signature(
    ctx: ApiContext, request: Request, principal: Principal, body: bytes
) -> None:
    if ctx.signatures is None:
        return
    try:
        ctx.signatures.verify(request.headers, body)
    except Unauthenticated as err:
        await deny(ctx, request, err, principal)
        raise


def _count(
    ctx: ApiContext, answers: list[ItemAnswer], sources: dict[int, str], principal: Principal
) -> None:
    for answer in answers:
        source = sources.get(answer.index, "")
        if answer.status != 202:
            ctx.metrics.alerts_refused.labels(intake.refusal_reason(answer.error)).inc()
            continue
        if answer.duplicate:
            ctx.metrics.alerts_duplicate.labels(ctx.metrics.source(source)).inc()
        else:
            ctx.metrics.alerts_received.labels(ctx.metrics.source(source)).inc()
        log.info(
            "alert.accepted",
            response_id=answer.response_id,
            duplicate=answer.duplicate,
            sender=principal.name,
        )
