"""Microsoft Graph v1.0: authentication methods, oauth2PermissionGrants, service principals, the
directory audit of consents, and directory roles with their members.

    GET    /users/{id}/authentication/methods[/{method}]        every kind, with @odata.type
    GET    /users/{id}/authentication/{kind}[/{method}]         one kind: phoneMethods, ...
    DELETE /users/{id}/authentication/{kind}/{method}           204 (not passwordMethods)
    GET    /oauth2PermissionGrants?$filter=principalId eq '...' POST, GET/DELETE .../{grant}
    GET    /servicePrincipals[/{sp}]                            ($filter appId eq '...')
    GET    /auditLogs/directoryAudits?$filter=...               "Consent to application"
    GET    /directoryRoles[/{id}][/members]                     ($filter roleTemplateId eq ...)
    GET    /directoryRoles(roleTemplateId='...')[/members]
    GET    /roleManagement/directory/roleAssignments?$filter=principalId eq '...'
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenant_emulator.directory import DEFAULT_PROPERTIES
from tenant_emulator.errors import GraphError
from tenant_emulator.graph import collection, graph_response, json_body, metadata
from tenant_emulator.guard import guarded, state_of
from tenant_emulator.identity import BY_SEGMENT, Identity, MethodKind
from tenant_emulator.routes import USER, RouteInfo

AUTH = USER + "/authentication"
GRANTS = "/v1.0/oauth2PermissionGrants"
ROLES = "/v1.0/directoryRoles"
ROLE_BY_TEMPLATE = ROLES + "(roleTemplateId='{template}')"


def _identity(request: Request) -> Identity:
    return state_of(request).tenant.identity


def _kind(request: Request) -> MethodKind:
    segment = request.path_params["kind"]
    kind = BY_SEGMENT.get(segment)
    if kind is None:
        raise GraphError(
            400,
            "BadRequest",
            f"Resource not found for the segment '{segment}'.",
        )
    return kind


async def list_methods(request: Request) -> Response:
    methods = _identity(request).user_methods(request.path_params["id"])
    fragment = f"users('{request.path_params['id']}')/authentication/methods"
    return graph_response(collection(request, methods, fragment, default_top=None))


async def get_method(request: Request) -> Response:
    params = request.path_params
    method = _identity(request).method(params["id"], params["method"], None)
    fragment = f"users('{params['id']}')/authentication/methods/$entity"
    return graph_response({"@odata.context": metadata(request, fragment), **method})


async def list_kind(request: Request) -> Response:
    kind = _kind(request)
    methods = _identity(request).user_methods(request.path_params["id"], kind)
    fragment = f"users('{request.path_params['id']}')/authentication/{kind.segment}"
    return graph_response(collection(request, methods, fragment, default_top=None))


async def get_kind(request: Request) -> Response:
    kind, params = _kind(request), request.path_params
    method = _identity(request).method(params["id"], params["method"], kind)
    fragment = f"users('{params['id']}')/authentication/{kind.segment}/$entity"
    return graph_response({"@odata.context": metadata(request, fragment), **method})


async def delete_kind(request: Request) -> Response:
    kind, params = _kind(request), request.path_params
    if not kind.deletable:
        raise GraphError(405, "MethodNotAllowed", f"DELETE is not supported on {kind.segment}.")
    _identity(request).delete_method(params["id"], params["method"], kind)
    return graph_response(None, 204)


async def list_grants(request: Request) -> Response:
    grants = list(_identity(request).grants.values())
    return graph_response(collection(request, grants, "oauth2PermissionGrants", default_top=100))


async def create_grant(request: Request) -> Response:
    grant = _identity(request).add_grant(await json_body(request))
    body = {"@odata.context": metadata(request, "oauth2PermissionGrants/$entity"), **grant}
    return graph_response(body, 201)


async def get_grant(request: Request) -> Response:
    grant = _identity(request).grant(request.path_params["grant"])
    body = {"@odata.context": metadata(request, "oauth2PermissionGrants/$entity"), **grant}
    return graph_response(body)


async def delete_grant(request: Request) -> Response:
    identity = _identity(request)
    grant = identity.grant(request.path_params["grant"])
    del identity.grants[grant["id"]]
    return graph_response(None, 204)


async def list_sps(request: Request) -> Response:
    sps = list(_identity(request).service_principals.values())
    return graph_response(collection(request, sps, "servicePrincipals", default_top=100))


async def get_service_principal(request: Request) -> Response:
    sp = _identity(request).service_principal(request.path_params["sp"])
    body = {"@odata.context": metadata(request, "servicePrincipals/$entity"), **sp}
    return graph_response(body)


async def list_audits(request: Request) -> Response:
    audits = _identity(request).audits
    body = collection(
        request, audits, "auditLogs/directoryAudits", default_order="activityDateTime desc"
    )
    return graph_response(body)


async def list_roles(request: Request) -> Response:
    roles = list(_identity(request).roles.values())
    return graph_response(collection(request, roles, "directoryRoles", default_top=None))


def _role(request: Request) -> dict[str, Any]:
    params = request.path_params
    return _identity(request).role(params.get("role") or params["template"])


async def get_role(request: Request) -> Response:
    body = {"@odata.context": metadata(request, "directoryRoles/$entity"), **_role(request)}
    return graph_response(body)


def _directory_object(user: dict[str, Any]) -> dict[str, Any]:
    shown = {key: user.get(key) for key in DEFAULT_PROPERTIES}
    return {"@odata.type": "#microsoft.graph.user", **shown}


async def list_members(request: Request) -> Response:
    role = _role(request)
    members = [_directory_object(u) for u in _identity(request).members(role["id"])]
    return graph_response(collection(request, members, "directoryObjects", default_top=100))


async def list_role_assignments(request: Request) -> Response:
    assignments = _identity(request).role_assignments()
    fragment = "roleManagement/directory/roleAssignments"
    return graph_response(collection(request, assignments, fragment, default_top=100))


def _route(name: str, method: str, template: str, handler: Any) -> Route:
    return guarded(RouteInfo(name, method, template), handler)


ROUTES: list[Route] = [
    _route("graph.auth_methods.list", "GET", AUTH + "/methods", list_methods),
    _route("graph.auth_methods.get", "GET", AUTH + "/methods/{method}", get_method),
    _route("graph.auth_methods.kind.list", "GET", AUTH + "/{kind}", list_kind),
    _route("graph.auth_methods.kind.get", "GET", AUTH + "/{kind}/{method}", get_kind),
    _route("graph.auth_methods.delete", "DELETE", AUTH + "/{kind}/{method}", delete_kind),
    _route("graph.grants.list", "GET", GRANTS, list_grants),
    _route("graph.grants.create", "POST", GRANTS, create_grant),
    _route("graph.grants.get", "GET", GRANTS + "/{grant}", get_grant),
    _route("graph.grants.delete", "DELETE", GRANTS + "/{grant}", delete_grant),
    _route("graph.service_principals.list", "GET", "/v1.0/servicePrincipals", list_sps),
    _route(
        "graph.service_principals.get",
        "GET",
        "/v1.0/servicePrincipals/{sp}",
        get_service_principal,
    ),
    _route("graph.audits.list", "GET", "/v1.0/auditLogs/directoryAudits", list_audits),
    _route("graph.roles.list", "GET", ROLES, list_roles),
    _route("graph.roles.by_template.get", "GET", ROLE_BY_TEMPLATE, get_role),
    _route("graph.roles.by_template.members", "GET", ROLE_BY_TEMPLATE + "/members", list_members),
    _route("graph.roles.get", "GET", ROLES + "/{role}", get_role),
    _route("graph.roles.members", "GET", ROLES + "/{role}/members", list_members),
    _route(
        "graph.role_assignments.list",
        "GET",
        "/v1.0/roleManagement/directory/roleAssignments",
        list_role_assignments,
    ),
]
