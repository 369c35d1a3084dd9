"""Every route the emulator serves, by name: what faults target and what calls count.

A route has a stable dotted name (`graph.users.patch`), a method and a path template
(`/v1.0/users/{id}`). `GET /_emulator/calls` counts requests by "METHOD template"; faults select
routes by a glob over names ("graph.mail.*") or by "METHOD /path/glob".

    name                          method  template
    login.instance_discovery      GET     /common/discovery/instance
    login.openid                  GET     /{tenant}/v2.0/.well-known/openid-configuration
    login.token                   POST    /{tenant}/oauth2/v2.0/token
    graph.users.get               GET     /v1.0/users/{id}
    graph.users.patch             PATCH   /v1.0/users/{id}
    graph.users.revoke_sessions   POST    /v1.0/users/{id}/revokeSignInSessions
    graph.mail.folders.list       GET     /v1.0/users/{id}/mailFolders
    graph.mail.folders.create     POST    /v1.0/users/{id}/mailFolders
    graph.mail.folders.get        GET     /v1.0/users/{id}/mailFolders/{folder}
    graph.mail.child_folders.list GET     /v1.0/users/{id}/mailFolders/{folder}/childFolders
    graph.mail.child_folders.create POST  /v1.0/users/{id}/mailFolders/{folder}/childFolders
    graph.mail.rules.list         GET     /v1.0/users/{id}/mailFolders/{folder}/messageRules
    graph.mail.rules.create       POST    /v1.0/users/{id}/mailFolders/{folder}/messageRules
    graph.mail.rules.get          GET     /v1.0/users/{id}/mailFolders/{folder}/messageRules/{rule}
    graph.mail.rules.patch        PATCH   (same)
    graph.mail.rules.delete       DELETE  (same)
    graph.mail.messages.list      GET     /v1.0/users/{id}/messages
    graph.mail.messages.get       GET     /v1.0/users/{id}/messages/{message}
    graph.mail.messages.move      POST    /v1.0/users/{id}/messages/{message}/move
    graph.mail.folder_messages.list GET   /v1.0/users/{id}/mailFolders/{folder}/messages
    graph.mail.folder_messages.get  GET   /v1.0/users/{id}/mailFolders/{folder}/messages/{message}
    graph.mail.folder_messages.move POST  .../mailFolders/{folder}/messages/{message}/move
    graph.auth_methods.*, graph.grants.*, graph.service_principals.*, graph.audits.list,
    graph.roles.*, graph.role_assignments.list      see tenant_emulator/graph_identity.py
    graph.named_locations.*, graph.ca_policies.*     see tenant_emulator/graph_ca.py
    arm.nsgs.get|put              GET/PUT /subscriptions/{sub}/resourceGroups/{rg}/providers/
                                          Microsoft.Network/networkSecurityGroups/{nsg}
    arm.rules.list                GET     (that)/securityRules
    arm.rules.get|put|delete      ...     (that)/securityRules/{rule}
    arm.nics.*, arm.watchers.list_all, arm.flow_logs.*   see tenant_emulator/arm_watch.py
    storage.blobs.list|get|put    GET/PUT /{account}/{container}[/{blob}]   (storage.py)
    arm.operations.get            GET     /subscriptions/{sub}/providers/Microsoft.Network/
                                          locations/{location}/operations/{operation}
    arm.operation_results.get     GET     (same)/operationResults/{operation}
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Service(StrEnum):
    LOGIN = "login"
    GRAPH = "graph"
    ARM = "arm"
    STORAGE = "storage"
    SEAM = "emulator"


@dataclass(frozen=True)
class RouteInfo:
    name: str
    method: str
    template: str

    @property
    def service(self) -> Service:
        return Service(self.name.split(".", 1)[0])

    @property
    def key(self) -> str:
        """How `GET /_emulator/calls` counts it."""
        return f"{self.method} {self.template}"

    @property
    def needs_token(self) -> bool:
        return self.service in (Service.GRAPH, Service.ARM, Service.STORAGE)


USER = "/v1.0/users/{id}"
FOLDER = USER + "/mailFolders/{folder}"
NSG = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network"
    "/networkSecurityGroups/{nsg}"
)
LOCATION = "/subscriptions/{sub}/providers/Microsoft.Network/locations/{location}"

# The ARM permission each route needs, named in AuthorizationFailed when it is refused.
ARM_ACTIONS = {
    "arm.nsgs.get": "Microsoft.Network/networkSecurityGroups/read",
    "arm.nsgs.put": "Microsoft.Network/networkSecurityGroups/write",
    "arm.nics.list": "Microsoft.Network/networkInterfaces/read",
    "arm.nics.get": "Microsoft.Network/networkInterfaces/read",
    "arm.flow_logs.list": "Microsoft.Network/networkWatchers/flowLogs/read",
    "arm.flow_logs.get": "Microsoft.Network/networkWatchers/flowLogs/read",
    "arm.rules.list": "Microsoft.Network/networkSecurityGroups/securityRules/read",
    "arm.rules.get": "Microsoft.Network/networkSecurityGroups/securityRules/read",
    "arm.rules.put": "Microsoft.Network/networkSecurityGroups/securityRules/write",
    "arm.rules.delete": "Microsoft.Network/networkSecurityGroups/securityRules/delete",
    "arm.operations.get": "Microsoft.Network/locations/operations/read",
    "arm.operation_results.get": "Microsoft.Network/locations/operationResults/read",
}
