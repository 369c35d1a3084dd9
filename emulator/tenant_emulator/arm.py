"""Azure Resource Manager, Microsoft.Network: NSGs and their security rules.

Writes are long-running operations with ARM's headers: PUT answers 201 (200 on update) with
`Azure-AsyncOperation`; DELETE answers 202 with `Location` and `Azure-AsyncOperation`, or 204
when the rule does not exist. The operation reads InProgress, then Succeeded. The poll delay is
given in milliseconds (`x-ms-retry-after-ms`, which azure-core honours) so tests stay fast;
a whole number of seconds is sent as `Retry-After`, as Azure does.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tenant_emulator.errors import ArmError
from tenant_emulator.guard import guarded, state_of
from tenant_emulator.login import base_url
from tenant_emulator.network import Network, Nsg, Operation, OperationKind
from tenant_emulator.routes import LOCATION, NSG, RouteInfo
from tenant_emulator.state import EmulatorState

RULE = NSG + "/securityRules/{rule}"


def _api_version(request: Request) -> str:
    version = request.query_params.get("api-version")
    if not version:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    return version


def _network(request: Request) -> Network:
    _api_version(request)
    state = state_of(request)
    subscription = request.path_params["sub"]
    if subscription.lower() != state.tenant.subscription.lower():
        raise ArmError(
            404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found."
        )
    return state.tenant.network


def _nsg(request: Request) -> Nsg:
    params = request.path_params
    return _network(request).nsg(params["rg"], params["nsg"])


def arm_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    request_id = str(uuid.uuid4())
    all_headers = {
        "x-ms-request-id": request_id,
        "x-ms-correlation-request-id": request_id,
        **(headers or {}),
    }
    if body is None:
        return Response(status_code=status, headers=all_headers)
    return JSONResponse(body, status_code=status, headers=all_headers)


def _poll_hint(state: EmulatorState) -> dict[str, str]:
    delay = state.lro_delay_ms
    if delay >= 1000 and delay % 1000 == 0:
        return {"Retry-After": str(delay // 1000)}
    return {"x-ms-retry-after-ms": str(delay)}


def _operation_urls(request: Request, nsg: Nsg, op: Operation) -> tuple[str, str]:
    state = state_of(request)
    location = LOCATION.replace("{sub}", state.tenant.subscription).replace(
        "{location}", nsg.location
    )
    query = f"?api-version={_api_version(request)}"
    root = f"{base_url(request)}{location}"
    return f"{root}/operations/{op.id}{query}", f"{root}/operationResults/{op.id}{query}"


async def get_nsg(request: Request) -> Response:
    nsg = _nsg(request)
    return arm_response(state_of(request).tenant.network.nsg_json(nsg))


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as err:
        raise ArmError(400, "InvalidRequestFormat", "Cannot parse the request.") from err
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestFormat", "Cannot parse the request.")
    return body


async def put_nsg(request: Request) -> Response:
    """PUT of the NSG itself (what `flushConnection` is set with): an update only, the
    emulator's NSGs come from the seed."""
    nsg = _nsg(request)
    network = state_of(request).tenant.network
    network.put_nsg(nsg, await _body(request))
    op = network.start(OperationKind.PUT, nsg, "")
    status_url, _ = _operation_urls(request, nsg, op)
    headers = {"Azure-AsyncOperation": status_url, **_poll_hint(state_of(request))}
    return arm_response(network.nsg_json(nsg), 200, headers)


async def list_rules(request: Request) -> Response:
    nsg = _nsg(request)
    return arm_response({"value": list(nsg.rules.values())})


async def get_rule(request: Request) -> Response:
    nsg = _nsg(request)
    return arm_response(state_of(request).tenant.network.rule(nsg, request.path_params["rule"]))


async def put_rule(request: Request) -> Response:
    nsg = _nsg(request)
    body = await _body(request)
    network = state_of(request).tenant.network
    rule, created = network.put_rule(nsg, request.path_params["rule"], body)
    op = network.start(OperationKind.PUT, nsg, rule["name"])
    status_url, _ = _operation_urls(request, nsg, op)
    headers = {"Azure-AsyncOperation": status_url, **_poll_hint(state_of(request))}
    return arm_response(rule, 201 if created else 200, headers)


async def delete_rule(request: Request) -> Response:
    nsg = _nsg(request)
    network = state_of(request).tenant.network
    name = request.path_params["rule"]
    if not network.mark_deleting(nsg, name):
        request.state.no_effect = True  # nothing to delete: no side effect to count
        return arm_response(None, 204)
    op = network.start(OperationKind.DELETE, nsg, name)
    status_url, result_url = _operation_urls(request, nsg, op)
    headers = {
        "Azure-AsyncOperation": status_url,
        "Location": result_url,
        **_poll_hint(state_of(request)),
    }
    return arm_response(None, 202, headers)


async def operation_status(request: Request) -> Response:
    op = _network(request).poll(request.path_params["operation"])
    hint = {} if op.done else _poll_hint(state_of(request))
    return arm_response({"status": op.status}, 200, hint)


async def operation_result(request: Request) -> Response:
    network = _network(request)
    op = network.poll(request.path_params["operation"])
    if not op.done:
        return arm_response(
            None, 202, {"Location": str(request.url), **_poll_hint(state_of(request))}
        )
    if op.kind is OperationKind.DELETE:
        return arm_response(None, 204)
    if not op.rule_name:
        return arm_response(network.nsg_json(op.nsg))
    return arm_response(network.rule(op.nsg, op.rule_name))


ROUTES: list[Route] = [
    guarded(RouteInfo("arm.nsgs.get", "GET", NSG), get_nsg),
    guarded(RouteInfo("arm.nsgs.put", "PUT", NSG), put_nsg),
    guarded(RouteInfo("arm.rules.list", "GET", NSG + "/securityRules"), list_rules),
    guarded(RouteInfo("arm.rules.get", "GET", RULE), get_rule),
    guarded(RouteInfo("arm.rules.put", "PUT", RULE), put_rule),
    guarded(RouteInfo("arm.rules.delete", "DELETE", RULE), delete_rule),
    guarded(
        RouteInfo("arm.operations.get", "GET", LOCATION + "/operations/{operation}"),
        operation_status,
    ),
    guarded(
        RouteInfo("arm.operation_results.get", "GET", LOCATION + "/operationResults/{operation}"),
        operation_result,
    ),
]
