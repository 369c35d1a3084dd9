"""The console's pages: sign in, pending approvals, response timelines and the audit search."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.datastructures import URL

from riposte.api.auth import Permission, allows, deny, slowed_down
from riposte.api.context import api_context
from riposte.api.errors import Unauthenticated
from riposte.api.routes.audit import AuditFormat, AuditQuery
from riposte.api.routes.audit import page as audit_page
from riposte.api.tokens import Principal
from riposte.audit.events import AuditFilter, AuditKind
from riposte.audit.export import ExportFormat, events_of, stream
from riposte.console import backtest
from riposte.console.render import page, segment
from riposte.console.session import (
    ConsoleRefusal,
    end_session,
    form,
    guard,
    safe_next,
    same_origin,
    signed_in,
    start_session,
)
from riposte.errors import Conflict, NotFound, NotPermitted, RiposteError
from riposte.response import ActionState, Decision, Release, ResponseStatus, response_id_of

router = APIRouter(include_in_schema=False)
Decider = Annotated[Principal, Depends(guard(Permission.DECIDE))]
Reader = Annotated[Principal, Depends(guard(Permission.READ_RESPONSES))]
Auditor = Annotated[Principal, Depends(guard(Permission.READ_AUDIT))]
_APPROVALS_PAGE = 100  # responses a page


class Notice(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    RELEASED = "released"


def mount(app: FastAPI) -> None:
    """Serve the console from `app`: its pages, its static files, and its refusals."""

    async def refused(_: Request, err: Exception) -> Response:
        assert isinstance(err, ConsoleRefusal)
        return err.response

    app.add_exception_handler(ConsoleRefusal, refused)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(router)
    app.include_router(backtest.router)


AUDIT_PAGE = 100  # events per page of the console's audit search


@router.get("/login")
async def login_form(next: str | None = None) -> Response:
    return page("login.html", next=safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    same_origin(request)
    fields = await form(request)
    target = safe_next(fields.get("next"))
    token = fields.get("token", "").strip()
    ctx = api_context(request)
    principal = ctx.tokens.authenticate(token) if token else None
    if principal is None and await slowed_down(ctx, request) is not None:  # as the API's check
        error = "Too many refused attempts from this address; try again later."
        return page("login.html", 429, next=target, error=error)
    if principal is None:
        reason = "unknown token" if token else "no credentials"
        await deny(ctx, request, Unauthenticated(reason), None)
        return page("login.html", 401, next=target, error="That token is not valid.")
    response = RedirectResponse(target, status_code=303)
    start_session(response, request, token)
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response


@router.get("/")
async def home(request: Request) -> Response:
    principal = signed_in(request)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    for permission, path in (
        (Permission.DECIDE, "/approvals"),
        (Permission.READ_RESPONSES, "/responses"),
        (Permission.READ_AUDIT, "/audit"),
    ):
        if allows(principal.role, permission):
            return RedirectResponse(path, status_code=303)
    text = "A sender token can post alerts to the API; the console has nothing for it."
    return page("message.html", 403, user=principal, title="Nothing here", text=text)


@router.get("/approvals")
async def approvals(
    request: Request, user: Decider, notice: Notice | None = None, page_token: str | None = None
) -> Response:
    try:
        found = await api_context(request).service.pending_page(_APPROVALS_PAGE, page_token)
    except RiposteError as err:
        return _trouble(user, err)
    following = (
        _relative(request.url.include_query_params(page_token=found.next_page))
        if found.next_page
        else None
    )
    return page(
        "approvals.html",
        user=user,
        pending=list(found.requests),
        notice=notice,
        following=following,
    )


@router.post("/approvals/{action_id:path}/decide")
async def decide(action_id: str, request: Request, user: Decider) -> Response:
    fields = await form(request)
    approve = fields.get("decision") == "approve"
    reason = fields.get("reason", "").strip()
    if not approve and not reason:
        text = "A rejection needs a reason; nothing was decided."
        return page("message.html", 422, user=user, title="Reason required", text=text)
    decision = Decision(
        action_id=action_id,
        approve=approve,
        by=user.name,
        comment=fields.get("comment", "").strip(),
        reason=reason,
    )
    try:
        await api_context(request).service.decide(decision)
    except NotPermitted as err:
        await deny(api_context(request), request, err, user)
        return _trouble(user, err)
    except RiposteError as err:
        return _trouble(user, err)
    notice = Notice.APPROVED if approve else Notice.REJECTED
    return _to_timeline(response_id_of(action_id), notice)


@router.post("/actions/{action_id:path}/release")
async def release(action_id: str, request: Request, user: Decider) -> Response:
    fields = await form(request)
    request_ = Release(action_id=action_id, by=user.name, comment=fields.get("comment", "").strip())
    try:
        await api_context(request).service.release(request_)
    except RiposteError as err:
        return _trouble(user, err)
    return _to_timeline(response_id_of(action_id), Notice.RELEASED)


@router.get("/responses")
async def responses(
    request: Request, user: Reader, status: ResponseStatus | None = None
) -> Response:
    try:
        found = await api_context(request).service.list(status, limit=200)
    except RiposteError as err:
        return _trouble(user, err)
    return page(
        "responses.html", user=user, responses=found, selected=status, statuses=list(ResponseStatus)
    )


@router.get("/responses/{response_id:path}")
async def timeline(
    response_id: str, request: Request, user: Reader, notice: Notice | None = None
) -> Response:
    ctx = api_context(request)
    try:
        response = await ctx.service.view(response_id)
    except RiposteError as err:
        return _trouble(user, err)
    events = await asyncio.to_thread(
        ctx.audit.query, AuditFilter(response_id=response_id, limit=1000)
    )
    return page(
        "response.html",
        user=user,
        response=response,
        events=events,
        notice=notice,
        can_decide=allows(user.role, Permission.DECIDE),
        pending=ActionState.PENDING_APPROVAL,
        executed=ActionState.EXECUTED,
    )


@router.get("/audit")
async def audit(request: Request, user: Auditor) -> Response:
    try:
        query = _audit_query(request)
    except ValidationError as err:
        problem = err.errors(include_input=False)[0]
        text = f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}"
        return page("message.html", 422, user=user, title="Check the filters", text=text)
    result = await audit_page(api_context(request).audit, query, query.limit or AUDIT_PAGE)
    filters = query.model_dump(exclude={"format", "after_seq", "limit"}, exclude_none=True)
    following = (
        _relative(request.url.include_query_params(after_seq=result.next_after_seq))
        if result.next_after_seq is not None
        else None
    )
    exports = request.url.replace(path="/audit/export").remove_query_params("after_seq")
    return page(
        "audit.html",
        user=user,
        events=result.events,
        filters=filters,
        kinds=list(AuditKind),
        following=following,
        csv_url=_relative(exports.include_query_params(format="csv")),
        json_url=_relative(exports.include_query_params(format="json")),
    )


@router.get("/audit/export")
async def export(request: Request, user: Auditor) -> Response:
    try:
        query = _audit_query(request)
    except ValidationError:
        return page("message.html", 422, user=user, title="Check the filters", text="bad filter")
    wanted = query.filter().model_copy(update={"limit": None, "after_seq": 0})
    csv = query.format is AuditFormat.CSV
    events = events_of(api_context(request).audit, wanted)
    # A sync iterator: Starlette reads it in a worker thread, a chunk of the store at a time.
    return StreamingResponse(
        stream(events, ExportFormat.CSV if csv else ExportFormat.JSON),
        media_type="text/csv; charset=utf-8" if csv else "application/json",
        headers={
            "Content-Disposition": f'attachment; filename="audit.{query.format.value}"',
            "Cache-Control": "no-store",
        },
    )


def _relative(url: URL) -> str:
    """A link to the same site, whatever Host header the request came with."""
    return f"{url.path}?{url.query}" if url.query else url.path


def _audit_query(request: Request) -> AuditQuery:
    given = {k: v for k, v in request.query_params.items() if v.strip()}
    return AuditQuery.model_validate(given)


def _to_timeline(response_id: str, notice: Notice) -> Response:
    return RedirectResponse(f"/responses/{segment(response_id)}?notice={notice}", status_code=303)


def _trouble(user: Principal, err: RiposteError) -> Response:
    match err:
        case Conflict():
            title, status = f"Already {err.state.replace('_', ' ')}", 409
        case NotPermitted():
            title, status = "Not allowed", 403
        case NotFound():
            title, status = "Not found", 404
        case _:
            title, status = "Riposte cannot answer now", 503
    return page("message.html", status, user=user, title=title, text=str(err))
