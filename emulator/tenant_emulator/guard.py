"""The one wrapper every route goes through: count the call, check the token, apply faults,
and turn a raised `EmulatorError` into the service's error response."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from tenant_emulator.errors import (
    ArmError,
    EmulatorError,
    GraphError,
    StorageError,
    response_for,
)
from tenant_emulator.routes import RouteInfo, Service
from tenant_emulator.state import EmulatorState

Handler = Callable[[Request], Awaitable[Response]]

_GRAPH_AUTH = {
    "missing": "Access token is empty.",
    "invalid": "IDX14100: JWT is not well formed.",
    "expired": "Lifetime validation failed, the token is expired.",
}
_ARM_AUTH = {
    "missing": (
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
    ),
    "invalid": ("InvalidAuthenticationToken", "The access token is invalid."),
    "expired": ("ExpiredAuthenticationToken", "The access token expiry UTC time is in the past."),
}


def state_of(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _unauthorized(route: RouteInfo, problem: str) -> Response:
    if route.service is Service.ARM:
        code, message = _ARM_AUTH[problem]
        challenge = (
            'Bearer authorization_uri="https://login.microsoftonline.com/", '
            'error="invalid_token", error_description="The authentication failed."'
        )
        return response_for(ArmError(401, code, message), {"WWW-Authenticate": challenge})
    if route.service is Service.STORAGE:
        refused = StorageError(
            401,
            "InvalidAuthenticationInfo",
            "Authentication information is not given in the "
            "correct format. Check the value of Authorization header.",
        )
        challenge = (
            "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize "
            "resource_id=https://storage.azure.com"
        )
        return response_for(refused, {"WWW-Authenticate": challenge})
    challenge = 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common"'
    error = GraphError(401, "InvalidAuthenticationToken", _GRAPH_AUTH[problem])
    return response_for(error, {"WWW-Authenticate": challenge})


def guarded(route: RouteInfo, handler: Handler) -> Route:
    async def endpoint(request: Request) -> Response:
        state = state_of(request)
        state.calls[route.key] += 1
        if route.needs_token:
            problem = state.token_state(request.headers.get("authorization"))
            if problem != "ok":
                return _unauthorized(route, problem)
        decision = state.faults.decide(route, request.method, request.url.path)
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        if decision.error is not None:
            headers = {}
            if decision.retry_after is not None:
                headers["Retry-After"] = str(math.ceil(decision.retry_after))
            return response_for(decision.error, headers)
        try:
            response = await handler(request)
        except EmulatorError as err:
            return response_for(err)
        except ClientDisconnect:  # the caller went away mid-request: nothing was applied
            return Response(status_code=499)
        applied = not getattr(request.state, "no_effect", False)
        if route.method != "GET" and response.status_code < 300 and applied:
            state.effects[route.key] += 1
        return response

    return Route(route.template, endpoint, methods=[route.method], name=route.name)
