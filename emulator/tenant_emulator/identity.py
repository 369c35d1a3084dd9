"""Entra ID beyond the user object: authentication methods, app consents (oauth2PermissionGrants,
with the directory audit that records each consent), service principals and directory roles.

Objects are kept as the Graph JSON they are served as. Authentication methods carry
`createdDateTime` where Graph has it (not on phone or email methods). A grant has no time of its
own in Graph v1.0; when it was granted is in /auditLogs/directoryAudits ("Consent to
application", initiated by the user, targeting the client service principal).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from tenant_emulator.directory import Directory
from tenant_emulator.errors import GraphError
from tenant_emulator.seed import Seed, SeedAuthMethod, resolve_time

NAMESPACE = uuid.UUID("7f1c6a2e-1b8e-4c4f-9a43-52b1d1f7a002")
PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"  # noqa: S105 (a fixed Graph id)
PHONE_IDS = {
    "mobile": "3179e48a-750b-4051-897c-87b9720928f7",
    "alternateMobile": "b6332ec1-7057-4abe-9331-3d72feddfe41",
    "office": "e37fc753-ff3b-4958-9484-eaa9425c82bc",
}
EMAIL_METHOD_ID = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"


@dataclass(frozen=True)
class MethodKind:
    """One kind of authentication method: its seed `type`, route segment and OData type."""

    type: str
    segment: str
    odata: str
    dated: bool  # whether Graph gives it a createdDateTime
    deletable: bool = True


KINDS = {
    kind.type: kind
    for kind in (
        MethodKind("password", "passwordMethods", "passwordAuthenticationMethod", True, False),
        MethodKind(
            "microsoftAuthenticator",
            "microsoftAuthenticatorMethods",
            "microsoftAuthenticatorAuthenticationMethod",
            True,
        ),
        MethodKind("phone", "phoneMethods", "phoneAuthenticationMethod", False),
        MethodKind("email", "emailMethods", "emailAuthenticationMethod", False),
        MethodKind("fido2", "fido2Methods", "fido2AuthenticationMethod", True),
        MethodKind("softwareOath", "softwareOathMethods", "softwareOathAuthenticationMethod", True),
        MethodKind(
            "windowsHelloForBusiness",
            "windowsHelloForBusinessMethods",
            "windowsHelloForBusinessAuthenticationMethod",
            True,
        ),
        MethodKind(
            "temporaryAccessPass",
            "temporaryAccessPassMethods",
            "temporaryAccessPassAuthenticationMethod",
            True,
        ),
    )
}
BY_SEGMENT = {kind.segment: kind for kind in KINDS.values()}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_found(what: str, key: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects are "
        f"not present ({what}).",
    )


def grant_id(client_id: str, resource_id: str, principal_id: str) -> str:
    """Graph's grant ids are the three object ids' bytes, base64url-encoded."""
    raw = b"".join(uuid.UUID(i).bytes for i in (client_id, resource_id, principal_id))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Identity:
    """Methods by user id, grants and service principals by id, roles by id, audits in order."""

    def __init__(self, seed: Seed, directory: Directory, now: dt.datetime) -> None:
        self.directory = directory
        self.now = now
        created = now - dt.timedelta(days=400)
        self.methods: dict[str, dict[str, dict[str, Any]]] = {}
        for user_id in directory.users:
            password = self._method(KINDS["password"], PASSWORD_METHOD_ID, {}, created)
            self.methods[user_id] = {PASSWORD_METHOD_ID: password}
        for upn, methods in seed.auth_methods.items():
            user = directory.find(upn)
            for method in methods:
                self.add_method(user["id"], method)
        self.service_principals: dict[str, dict[str, Any]] = {}
        for sp in seed.service_principals:
            sp_id = sp.id or str(uuid.uuid5(NAMESPACE, "sp:" + sp.appId))
            self.service_principals[sp_id] = {
                "id": sp_id,
                "appId": sp.appId,
                "displayName": sp.displayName,
                "appDisplayName": sp.displayName,
                "publisherName": sp.publisherName,
                "servicePrincipalType": "Application",
                "accountEnabled": True,
                "appOwnerOrganizationId": None,
                "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None},
            }
        self.grants: dict[str, dict[str, Any]] = {}
        self.audits: list[dict[str, Any]] = []
        for upn, consents in seed.app_consents.items():
            user = directory.find(upn)
            for consent in consents:
                client = self.service_principal_named(consent.app)
                resource = self.service_principal_named(consent.resource)
                grant = self.add_grant(
                    {
                        "clientId": client["id"],
                        "consentType": "Principal",
                        "principalId": user["id"],
                        "resourceId": resource["id"],
                        "scope": consent.scope,
                    }
                )
                self.audit_consent(user, client, grant, resolve_time(consent.granted, now))
        self.roles: dict[str, dict[str, Any]] = {}
        self.role_members: dict[str, list[str]] = {}
        for role in seed.directory_roles:
            role_id = str(uuid.uuid5(NAMESPACE, "role:" + role.roleTemplateId))
            self.roles[role_id] = {
                "id": role_id,
                "deletedDateTime": None,
                "description": role.description,
                "displayName": role.displayName,
                "roleTemplateId": role.roleTemplateId,
            }
            self.role_members[role_id] = [directory.find(m)["id"] for m in role.members]

    # Authentication methods

    def _method(
        self, kind: MethodKind, method_id: str, props: dict[str, Any], created: dt.datetime | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{kind.odata}", "id": method_id}
        if kind.dated:
            body["createdDateTime"] = iso(created) if created else None
        if kind.type == "password":
            body["password"] = None
        return body | props

    def add_method(self, user_id: str, seed: SeedAuthMethod) -> None:
        kind = KINDS.get(seed.type)
        if kind is None:
            raise ValueError(f"auth_methods: unknown type {seed.type!r}; one of {sorted(KINDS)}")
        props = seed.model_dump(exclude={"type", "id", "created"}, exclude_none=True)
        if kind.type == "phone":
            method_id = seed.id or PHONE_IDS[props.get("phoneType", "mobile")]
            props.setdefault("phoneType", "mobile")
            props.setdefault("smsSignInState", "notSupported")
        elif kind.type == "email":
            method_id = seed.id or EMAIL_METHOD_ID
        else:
            method_id = seed.id or str(uuid.uuid4())
        created = resolve_time(seed.created, self.now) if seed.created else None
        self.methods[user_id][method_id] = self._method(kind, method_id, props, created)

    def user_methods(self, user_key: str, kind: MethodKind | None = None) -> list[dict[str, Any]]:
        user = self.directory.find(user_key)
        methods = self.methods[user["id"]].values()
        return [m for m in methods if kind is None or m["@odata.type"].endswith("." + kind.odata)]

    def method(self, user_key: str, method_id: str, kind: MethodKind | None) -> dict[str, Any]:
        for method in self.user_methods(user_key, kind):
            if method["id"].casefold() == method_id.casefold():
                return method
        raise not_found("authentication method", method_id)

    def delete_method(self, user_key: str, method_id: str, kind: MethodKind) -> None:
        method = self.method(user_key, method_id, kind)
        del self.methods[self.directory.find(user_key)["id"]][method["id"]]

    # Service principals, grants and their audit

    def service_principal_named(self, name: str) -> dict[str, Any]:
        for sp in self.service_principals.values():
            if sp["displayName"] == name:
                return sp
        raise ValueError(f"app_consents: no service principal named {name!r}")

    def service_principal(self, sp_id: str) -> dict[str, Any]:
        found = self.service_principals.get(sp_id)
        if found is None:
            raise not_found("servicePrincipal", sp_id)
        return found

    def add_grant(self, body: dict[str, Any]) -> dict[str, Any]:
        for field in ("clientId", "consentType", "resourceId"):
            if not isinstance(body.get(field), str) or not body[field]:
                raise GraphError(400, "Request_BadRequest", f"Property '{field}' is required.")
        if body["consentType"] not in ("Principal", "AllPrincipals"):
            raise GraphError(400, "Request_BadRequest", "Invalid value for 'consentType'.")
        principal = body.get("principalId")
        if body["consentType"] == "Principal":
            if not principal:
                raise GraphError(400, "Request_BadRequest", "Property 'principalId' is required.")
            self.directory.find(principal)
        self.service_principal(body["clientId"])
        self.service_principal(body["resourceId"])
        key = grant_id(body["clientId"], body["resourceId"], principal or body["clientId"])
        if key in self.grants:
            raise GraphError(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                "Permission entry already exists.",
            )
        grant = {
            "id": key,
            "clientId": body["clientId"],
            "consentType": body["consentType"],
            "principalId": principal,
            "resourceId": body["resourceId"],
            "scope": str(body.get("scope") or ""),
        }
        self.grants[key] = grant
        return grant

    def grant(self, key: str) -> dict[str, Any]:
        found = self.grants.get(key)
        if found is None:
            raise not_found("oAuth2PermissionGrant", key)
        return found

    def audit_consent(
        self,
        user: dict[str, Any],
        client: dict[str, Any],
        grant: dict[str, Any],
        when: dt.datetime,
    ) -> None:
        self.audits.append(
            {
                "id": f"Directory_{uuid.uuid4()}",
                "category": "ApplicationManagement",
                "correlationId": str(uuid.uuid4()),
                "result": "success",
                "resultReason": "",
                "activityDisplayName": "Consent to application",
                "activityDateTime": iso(when),
                "loggedByService": "Core Directory",
                "operationType": "Assign",
                "initiatedBy": {
                    "app": None,
                    "user": {
                        "id": user["id"],
                        "displayName": None,
                        "userPrincipalName": user["userPrincipalName"],
                        "ipAddress": None,
                    },
                },
                "targetResources": [
                    {
                        "id": client["id"],
                        "displayName": client["displayName"],
                        "type": "ServicePrincipal",
                        "userPrincipalName": None,
                        "modifiedProperties": [
                            {
                                "displayName": "ConsentContext.IsAdminConsent",
                                "oldValue": None,
                                "newValue": '"False"',
                            },
                            {
                                "displayName": "ConsentAction.Permissions",
                                "oldValue": None,
                                "newValue": f'"[] => [[Id: {grant["id"]}, ClientId: '
                                f"{grant['clientId']}, PrincipalId: {grant['principalId']}, "
                                f"ResourceId: {grant['resourceId']}, ConsentType: Principal, "
                                f'Scope: {grant["scope"]}]]; "',
                            },
                        ],
                    }
                ],
                "additionalDetails": [],
            }
        )

    # Directory roles

    def role(self, key: str) -> dict[str, Any]:
        found = self.roles.get(key) or next(
            (r for r in self.roles.values() if r["roleTemplateId"] == key), None
        )
        if found is None:
            raise not_found("directoryRole", key)
        return found

    def members(self, role_id: str) -> list[dict[str, Any]]:
        return [self.directory.users[m] for m in self.role_members[role_id]]

    def role_assignments(self) -> list[dict[str, Any]]:
        return [
            {
                "id": f"{role['roleTemplateId']}-{member}",
                "principalId": member,
                "roleDefinitionId": role["roleTemplateId"],
                "directoryScopeId": "/",
                "appScopeId": None,
                "principalOrganizationId": None,
            }
            for role_id, role in self.roles.items()
            for member in self.role_members[role_id]
        ]

    def snapshot(self) -> dict[str, Any]:
        upn = {uid: u["userPrincipalName"].lower() for uid, u in self.directory.users.items()}
        return {
            "auth_methods": {upn[uid]: list(ms.values()) for uid, ms in self.methods.items()},
            "app_consents": {
                name: [
                    g | {"app": self.service_principals[g["clientId"]]["displayName"]}
                    for g in self.grants.values()
                    if g["principalId"] == uid
                ]
                for uid, name in upn.items()
            },
            "directory_roles": {
                role["displayName"]: [upn[m] for m in self.role_members[rid]]
                for rid, role in self.roles.items()
            },
        }
