"""Microsoft Graph v1.0: users, and what every Graph route shares (bodies, OData, headers).

As in Graph, GET /users/{id} returns the default property set, which does not include
accountEnabled: ask for it with `$select=accountEnabled`. PATCH answers 204 with no body.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tenant_emulator.directory import DEFAULT_PROPERTIES
from tenant_emulator.errors import GraphError
from tenant_emulator.guard import guarded, state_of
from tenant_emulator.login import base_url
from tenant_emulator.odata import order, page_bounds, parse_filter, select
from tenant_emulator.routes import USER, RouteInfo

IMMUTABLE_PREFERENCE = 'IdType="ImmutableId"'


def graph_response(
    body: Mapping[str, Any] | None, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    request_id = str(uuid.uuid4())
    all_headers = {"request-id": request_id, "client-request-id": request_id, **(headers or {})}
    if body is None:
        return Response(status_code=status, headers=all_headers)
    return JSONResponse(dict(body), status_code=status, headers=all_headers)


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as err:
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format.",
        ) from err
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "The request payload must be a JSON object.")
    return body


def metadata(request: Request, fragment: str) -> str:
    return f"{base_url(request)}/v1.0/$metadata#{fragment}"


def wants_immutable_ids(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(p.strip().lower() == IMMUTABLE_PREFERENCE.lower() for p in prefer.split(","))


def collection(
    request: Request,
    items: list[dict[str, Any]],
    fragment: str,
    *,
    default_top: int | None = 10,
    default_order: str | None = None,
) -> dict[str, Any]:
    """A Graph collection page: `$filter`, `$orderby`, `$skip`/`$top` (with @odata.nextLink),
    `$select`. `default_top=None` means the route does not page."""
    query = request.query_params
    if "$search" in query:
        raise GraphError(400, "BadRequest", "The emulator does not support $search.")
    if query.get("$filter"):
        predicate = parse_filter(query["$filter"])
        items = [item for item in items if predicate(item)]
    items = order(items, query.get("$orderby") or default_order)
    body: dict[str, Any] = {"@odata.context": metadata(request, fragment)}
    if default_top is not None:
        skip, top = page_bounds(query, default_top)
        if skip + top < len(items):
            body["@odata.nextLink"] = str(
                request.url.include_query_params(**{"$skip": skip + top, "$top": top})
            )
        items = items[skip : skip + top]
    body["value"] = [select(item, query.get("$select")) for item in items]
    if "@odata.nextLink" in body:
        body["@odata.nextLink"] = body.pop("@odata.nextLink")
    return body


async def get_user(request: Request) -> Response:
    user = state_of(request).tenant.directory.find(request.path_params["id"])
    fields = request.query_params.get("$select")
    shown = select(user, fields) if fields else {k: user.get(k) for k in DEFAULT_PROPERTIES}
    fragment = f"users({fields})/$entity" if fields else "users/$entity"
    return graph_response({"@odata.context": metadata(request, fragment), **shown})


async def patch_user(request: Request) -> Response:
    changes = await json_body(request)
    state_of(request).tenant.directory.update(request.path_params["id"], changes)
    return graph_response(None, 204)


async def revoke_sessions(request: Request) -> Response:
    state_of(request).tenant.directory.revoke_sessions(request.path_params["id"])
    return graph_response({"@odata.context": metadata(request, "Edm.Boolean"), "value": True})


ROUTES: list[Route] = [
    guarded(RouteInfo("graph.users.get", "GET", USER), get_user),
    guarded(RouteInfo("graph.users.patch", "PATCH", USER), patch_user),
    guarded(
        RouteInfo("graph.users.revoke_sessions", "POST", USER + "/revokeSignInSessions"),
        revoke_sessions,
    ),
]
