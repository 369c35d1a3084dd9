"""Microsoft Graph v1.0 Conditional Access routes (the store: conditional_access).

GET|POST          /identity/conditionalAccess/namedLocations
GET|PATCH|DELETE  /identity/conditionalAccess/namedLocations/{id}
GET|POST          /identity/conditionalAccess/policies
GET|PATCH|DELETE  /identity/conditionalAccess/policies/{id}
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenant_emulator.conditional_access import ConditionalAccess
from tenant_emulator.graph import collection, graph_response, json_body, metadata
from tenant_emulator.guard import guarded, state_of
from tenant_emulator.routes import RouteInfo

CA = "/v1.0/identity/conditionalAccess"


def _ca(request: Request) -> ConditionalAccess:
    return state_of(request).tenant.conditional_access


async def list_locations(request: Request) -> Response:
    items = list(_ca(request).locations.values())
    fragment = "identity/conditionalAccess/namedLocations"
    return graph_response(collection(request, items, fragment, default_top=None))


async def create_location(request: Request) -> Response:
    location = _ca(request).create_location(await json_body(request) | {"id": None})
    fragment = "identity/conditionalAccess/namedLocations/$entity"
    return graph_response({"@odata.context": metadata(request, fragment), **location}, 201)


async def get_location(request: Request) -> Response:
    location = _ca(request).location(request.path_params["location"])
    fragment = "identity/conditionalAccess/namedLocations/$entity"
    return graph_response({"@odata.context": metadata(request, fragment), **location})


async def patch_location(request: Request) -> Response:
    _ca(request).update_location(request.path_params["location"], await json_body(request))
    return graph_response(None, 204)


async def delete_location(request: Request) -> Response:
    _ca(request).delete_location(request.path_params["location"])
    return graph_response(None, 204)


async def list_policies(request: Request) -> Response:
    items = list(_ca(request).policies.values())
    fragment = "identity/conditionalAccess/policies"
    return graph_response(collection(request, items, fragment, default_top=None))


async def create_policy(request: Request) -> Response:
    policy = _ca(request).create_policy(await json_body(request) | {"id": None})
    fragment = "identity/conditionalAccess/policies/$entity"
    return graph_response({"@odata.context": metadata(request, fragment), **policy}, 201)


async def get_policy(request: Request) -> Response:
    policy = _ca(request).policy(request.path_params["policy"])
    fragment = "identity/conditionalAccess/policies/$entity"
    return graph_response({"@odata.context": metadata(request, fragment), **policy})


async def patch_policy(request: Request) -> Response:
    _ca(request).update_policy(request.path_params["policy"], await json_body(request))
    return graph_response(None, 204)


async def delete_policy(request: Request) -> Response:
    ca = _ca(request)
    ca.policy(request.path_params["policy"])
    del ca.policies[request.path_params["policy"]]
    return graph_response(None, 204)


LOCATIONS = CA + "/namedLocations"
POLICIES = CA + "/policies"
ROUTES: list[Route] = [
    guarded(RouteInfo("graph.named_locations.list", "GET", LOCATIONS), list_locations),
    guarded(RouteInfo("graph.named_locations.create", "POST", LOCATIONS), create_location),
    guarded(RouteInfo("graph.named_locations.get", "GET", LOCATIONS + "/{location}"), get_location),
    guarded(
        RouteInfo("graph.named_locations.patch", "PATCH", LOCATIONS + "/{location}"),
        patch_location,
    ),
    guarded(
        RouteInfo("graph.named_locations.delete", "DELETE", LOCATIONS + "/{location}"),
        delete_location,
    ),
    guarded(RouteInfo("graph.ca_policies.list", "GET", POLICIES), list_policies),
    guarded(RouteInfo("graph.ca_policies.create", "POST", POLICIES), create_policy),
    guarded(RouteInfo("graph.ca_policies.get", "GET", POLICIES + "/{policy}"), get_policy),
    guarded(RouteInfo("graph.ca_policies.patch", "PATCH", POLICIES + "/{policy}"), patch_policy),
    guarded(RouteInfo("graph.ca_policies.delete", "DELETE", POLICIES + "/{policy}"), delete_policy),
]
