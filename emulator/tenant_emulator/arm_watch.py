"""ARM, Microsoft.Network: network interfaces, Network Watchers and their flow logs.

    GET /subscriptions/{sub}/providers/Microsoft.Network/networkInterfaces
    GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/networkInterfaces
    GET (that)/{nic}
    GET /subscriptions/{sub}/providers/Microsoft.Network/networkWatchers
    GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/networkWatchers/
        {watcher}/flowLogs[/{flowLog}]

A NIC is found by its private IP by listing them (ARM has no server-side filter for it). A flow
log names its target (the VNet) and the storage account its blobs go to (`storageId`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenant_emulator.arm import _network, arm_response
from tenant_emulator.errors import ArmError
from tenant_emulator.flowlog_seed import FlowLogs
from tenant_emulator.guard import guarded, state_of
from tenant_emulator.routes import RouteInfo

PROVIDER = "/providers/Microsoft.Network"
SUB = "/subscriptions/{sub}"
RG = SUB + "/resourceGroups/{rg}"
NICS = RG + PROVIDER + "/networkInterfaces"
WATCHER = RG + PROVIDER + "/networkWatchers/{watcher}"


def _flow_logs(request: Request) -> FlowLogs:
    _network(request)  # api-version and subscription checks
    flow_logs = state_of(request).tenant.flow_logs
    if flow_logs is None:
        raise ArmError(404, "NotFound", "There is no Network Watcher in this subscription.")
    return flow_logs


async def list_all_nics(request: Request) -> Response:
    _network(request)
    tenant = state_of(request).tenant
    nics = [tenant.topology.nic_json(n, tenant.location) for n in tenant.topology.nics.values()]
    return arm_response({"value": nics})


async def list_nics(request: Request) -> Response:
    _network(request)
    tenant = state_of(request).tenant
    group = request.path_params["rg"].lower()
    nics = [
        tenant.topology.nic_json(n, tenant.location)
        for n in tenant.topology.nics.values()
        if n.resource_group.lower() == group
    ]
    return arm_response({"value": nics})


async def get_nic(request: Request) -> Response:
    _network(request)
    tenant = state_of(request).tenant
    nic = tenant.topology.nic(request.path_params["rg"], request.path_params["nic"])
    return arm_response(tenant.topology.nic_json(nic, tenant.location))


async def list_watchers(request: Request) -> Response:
    _network(request)
    flow_logs = state_of(request).tenant.flow_logs
    return arm_response({"value": [flow_logs.watcher_json()] if flow_logs else []})


def _watcher(request: Request) -> FlowLogs:
    flow_logs = _flow_logs(request)
    params = request.path_params
    if (params["rg"].lower(), params["watcher"].lower()) != (
        flow_logs.watcher_group.lower(),
        flow_logs.watcher.lower(),
    ):
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.Network/networkWatchers/{params['watcher']}' under "
            f"resource group '{params['rg']}' was not found.",
        )
    return flow_logs


async def list_flow_logs(request: Request) -> Response:
    flow_logs = _watcher(request)
    return arm_response({"value": [flow_logs.flow_log_json()]})


async def get_flow_log(request: Request) -> Response:
    flow_logs = _watcher(request)
    if request.path_params["flow_log"].lower() != flow_logs.name.lower():
        raise ArmError(404, "NotFound", f"Flow log {request.path_params['flow_log']} not found.")
    body: dict[str, Any] = flow_logs.flow_log_json()
    return arm_response(body)


ROUTES: list[Route] = [
    guarded(
        RouteInfo("arm.nics.list_all", "GET", SUB + PROVIDER + "/networkInterfaces"),
        list_all_nics,
    ),
    guarded(RouteInfo("arm.nics.list", "GET", NICS), list_nics),
    guarded(RouteInfo("arm.nics.get", "GET", NICS + "/{nic}"), get_nic),
    guarded(
        RouteInfo("arm.watchers.list_all", "GET", SUB + PROVIDER + "/networkWatchers"),
        list_watchers,
    ),
    guarded(RouteInfo("arm.flow_logs.list", "GET", WATCHER + "/flowLogs"), list_flow_logs),
    guarded(RouteInfo("arm.flow_logs.get", "GET", WATCHER + "/flowLogs/{flow_log}"), get_flow_log),
]
