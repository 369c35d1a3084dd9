"""Entra ID users, as Graph v1.0 serves them under /users."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from tenant_emulator.errors import GraphError
from tenant_emulator.seed import SeedUser

# What GET /users/{id} returns without $select; accountEnabled is not among them (as in Graph).
DEFAULT_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
READ_ONLY = frozenset({"id", "signInSessionsValidFromDateTime", "createdDateTime"})
# Writable user properties a seed may not have set yet; anything else unknown is Graph's 400.
WRITABLE = frozenset(
    {
        "accountEnabled",
        "displayName",
        "givenName",
        "surname",
        "jobTitle",
        "department",
        "officeLocation",
        "mobilePhone",
        "businessPhones",
        "usageLocation",
        "preferredLanguage",
        "companyName",
        "city",
        "country",
        "state",
        "streetAddress",
        "postalCode",
        "mailNickname",
        "passwordProfile",
        "employeeId",
        "aboutMe",
        "otherMails",
    }
)
PASSWORD_PROFILE = {
    "password": None,
    "forceChangePasswordNextSignIn": False,
    "forceChangePasswordNextSignInWithMfa": False,
}
USERS_NAMESPACE = uuid.UUID("7f1c6a2e-1b8e-4c4f-9a43-52b1d1f7a001")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Directory:
    """Users by object id, findable by id or userPrincipalName (case-insensitive)."""

    def __init__(self, users: tuple[SeedUser, ...], created: dt.datetime) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        for seed in users:
            upn = seed.userPrincipalName
            user: dict[str, Any] = {
                "businessPhones": [],
                "givenName": None,
                "jobTitle": None,
                "mail": upn,
                "mobilePhone": None,
                "officeLocation": None,
                "preferredLanguage": "en-US",
                "surname": None,
                **seed.model_dump(exclude_none=True),
            }
            user["id"] = seed.id or str(uuid.uuid5(USERS_NAMESPACE, upn.lower()))
            user.setdefault("createdDateTime", created.strftime("%Y-%m-%dT%H:%M:%SZ"))
            user.setdefault("signInSessionsValidFromDateTime", user["createdDateTime"])
            user.setdefault("passwordProfile", dict(PASSWORD_PROFILE))
            self.users[user["id"]] = user

    def find(self, key: str) -> dict[str, Any]:
        """The user with this object id or UPN, or Graph's 404."""
        folded = key.casefold()
        for user in self.users.values():
            if user["id"].casefold() == folded or user["userPrincipalName"].casefold() == folded:
                return user
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried reference-property objects "
            "are not present.",
        )

    def update(self, key: str, changes: dict[str, Any]) -> None:
        """PATCH /users/{id}: writable properties only, as Graph allows."""
        user = self.find(key)
        for name, value in changes.items():
            if name.startswith("@odata."):
                continue
            if name in READ_ONLY:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Property '{name}' is read-only and cannot be set.",
                )
            if name not in user and name not in WRITABLE:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Property '{name}' does not exist on type 'microsoft.graph.user'.",
                )
            if name == "accountEnabled" and not isinstance(value, bool):
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    "Invalid value specified for property 'accountEnabled' of resource 'User'.",
                )
            if name == "passwordProfile":
                user[name] = self._password_profile(user[name], value)
                continue
            user[name] = value

    @staticmethod
    def _password_profile(current: dict[str, Any], value: Any) -> dict[str, Any]:
        """Graph keeps the flags it is given and never serves the password back."""
        flags = ("forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa")
        if not isinstance(value, dict) or any(
            not isinstance(value.get(f, False), bool) for f in flags
        ):
            raise GraphError(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'passwordProfile' of resource 'User'.",
            )
        password = value.get("password")
        if password is not None and (not isinstance(password, str) or len(password) < 8):
            raise GraphError(
                400,
                "Request_BadRequest",
                "The specified password does not comply with password complexity requirements.",
            )
        return current | {f: value[f] for f in flags if f in value} | {"password": None}

    def revoke_sessions(self, key: str) -> None:
        self.find(key)["signInSessionsValidFromDateTime"] = now_iso()

    def by_upn(self) -> dict[str, dict[str, Any]]:
        """The test seam's users, with forceChangePasswordNextSignIn lifted to the top."""
        return {
            u["userPrincipalName"].lower(): dict(u)
            | {
                "forceChangePasswordNextSignIn": u["passwordProfile"][
                    "forceChangePasswordNextSignIn"
                ]
            }
            for u in self.users.values()
        }
