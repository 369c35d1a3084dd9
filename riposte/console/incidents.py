"""The console's incident pages: the list, and one incident as one story with one decision."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from riposte.api.auth import Permission, allows
from riposte.api.context import api_context
from riposte.console.pages import Decider, Reader, _trouble
from riposte.console.render import page
from riposte.console.session import form
from riposte.errors import RiposteError
from riposte.incidents.operations import decide_all, narrative, pending

router = APIRouter(include_in_schema=False)


@router.get("/incidents")
async def incidents(request: Request, user: Reader) -> Response:
    try:
        found = await api_context(request).service.incidents.list(limit=200)
    except RiposteError as err:
        return _trouble(user, err)
    return page("incidents.html", user=user, incidents=found)


@router.get("/incidents/{incident_id}")
async def incident(
    incident_id: str, request: Request, user: Reader, decided: int | None = None
) -> Response:
    ctx = api_context(request)
    try:
        found = await ctx.service.incidents.view(incident_id)
        waiting = await pending(ctx.service, found)
    except RiposteError as err:
        return _trouble(user, err)
    return page(
        "incident.html",
        user=user,
        incident=found,
        events=await narrative(ctx.audit, found),
        pending=waiting,
        decided=decided,
        can_decide=allows(user.role, Permission.DECIDE),
    )


@router.post("/incidents/{incident_id}/decide")
async def decide(incident_id: str, request: Request, user: Decider) -> Response:
    fields = await form(request)
    approve = fields.get("decision") == "approve"
    reason = fields.get("reason", "").strip()
    if not approve and not reason:
        text = "A rejection needs a reason; nothing was decided."
        return page("message.html", 422, user=user, title="Reason required", text=text)
    ctx = api_context(request)
    try:
        found = await ctx.service.incidents.view(incident_id)
        outcome = await decide_all(
            ctx.service,
            found,
            approve=approve,
            by=user.name,
            comment=fields.get("comment", "").strip(),
            reason=reason,
        )
    except RiposteError as err:
        return _trouble(user, err)
    target = f"/incidents/{quote(incident_id, safe='')}?decided={outcome.decided}"
    return RedirectResponse(target, status_code=303)
