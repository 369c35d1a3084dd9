"""The tenant checks: credential, tokens, permissions, and one read of each thing Riposte acts on.

Every call goes through the same SDK clients as the actions (`activities.clients`) and the
same error translation (`activities.errors.translated`), and only reads: a user, a mailbox's
inbox rules and folders, each configured NSG and its rules.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from temporalio.exceptions import ApplicationError

from activities.clients import TenantClients, connect
from activities.errors import translated
from activities.mailbox import Mailbox
from activities.nsg_access import rule_view
from riposte.actions.catalogue import INBOX_RULES, MOVE_MAIL, NETWORK_CONTRIBUTOR, READ_USERS
from riposte.actions.payloads import ActionName
from riposte.actions.permissions import azure_roles, missing_graph
from riposte.doctor.nsg_band import band_check, flush_note
from riposte.doctor.report import Check, Status, explain, fail, ok, skip
from riposte.settings import NsgBinding, TenantSettings

T = TypeVar("T")
_USER_FIELDS = ["id", "userPrincipalName", "accountEnabled"]


async def check_tenant(
    tenant: TenantSettings, *, user: str | None, actions: frozenset[ActionName], call_timeout: float
) -> list[Check]:
    """Credential, tokens, permissions, one user and mailbox, and every configured NSG."""
    credential = credential_check(tenant)
    if credential.status is not Status.OK:
        return [credential, skip("tenant", "not checked: no usable credential")]
    try:
        clients = connect(tenant)
    except (OSError, ValueError) as err:  # e.g. a certificate file that cannot be read
        return [fail("credential", f"the credential cannot be built: {err}")]
    try:
        probe = _Probe(clients, tenant, call_timeout)
        return [credential, *await probe.run(user, actions)]
    finally:
        await clients.close()


def credential_check(tenant: TenantSettings) -> Check:
    """Which credential the settings name (no call is made)."""
    app = f"app {tenant.client_id} in tenant {tenant.tenant_id}"
    if tenant.client_secret is not None:
        return ok("credential", f"client secret for {app}")
    if tenant.certificate_path is not None:
        if not tenant.certificate_path.is_file():
            return fail("credential", f"certificate file {tenant.certificate_path} does not exist")
        return ok("credential", f"certificate {tenant.certificate_path} for {app}")
    if tenant.managed_identity:
        return ok("credential", f"managed identity (client id {tenant.client_id})")
    return fail(
        "credential",
        "no tenant credential configured: set RIPOSTE_TENANT__CLIENT_SECRET, "
        "RIPOSTE_TENANT__CERTIFICATE_PATH or RIPOSTE_TENANT__MANAGED_IDENTITY=true",
    )


def token_roles(token: str) -> tuple[str, ...] | None:
    """The application permissions an access token carries (its `roles` claim); None when the
    token is not a JWT whose claims can be read. The token itself is never kept or shown."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    roles = claims.get("roles", [])
    return tuple(str(role) for role in roles) if isinstance(roles, list) else None


class _Probe:
    def __init__(self, clients: TenantClients, tenant: TenantSettings, call_timeout: float) -> None:
        self.clients = clients
        self.tenant = tenant
        self.timeout = call_timeout

    async def run(self, user: str | None, actions: frozenset[ActionName]) -> list[Check]:
        checks: list[Check] = []
        graph_scope = _origin(self.tenant.graph_url) + "/.default"
        arm_scope = self.tenant.arm_endpoint.rstrip("/") + "/.default"
        graph, token = await self._token("graph token", graph_scope)
        checks.append(graph)
        arm, arm_token = await self._token("arm token", arm_scope)
        checks.append(arm)
        if token is None:
            checks.append(skip("graph", "not checked: no Graph token"))
        else:
            checks.append(_permissions(token, actions))
            checks += await self._mailbox(user)
        if arm_token is None:
            checks.append(skip("nsgs", "not checked: no ARM token"))
        else:
            checks += await self._nsgs(actions)
        return checks

    async def _call(self, doing: str, call: Callable[[], Awaitable[T]]) -> T:
        with translated(doing):
            return await asyncio.wait_for(call(), self.timeout)

    async def _token(self, name: str, scope: str) -> tuple[Check, str | None]:
        doing = f"getting a token for {scope} from {self.tenant.authority_host}"
        try:
            token = await self._call(doing, lambda: self.clients.credential.get_token(scope))
        except ApplicationError as err:
            return fail(
                name, explain(doing, err, refused="the app may not use this resource")
            ), None
        return ok(name, f"obtained for {scope.removesuffix('/.default')}"), token.token

    async def _mailbox(self, user: str | None) -> list[Check]:
        graph = self.clients.graph
        upn = user
        doing = f"reading user {user}" if user else "listing users"
        try:
            if user is not None:
                query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                    select=_USER_FIELDS
                )
                found = await self._call(
                    doing,
                    lambda: graph.users.by_user_id(user).get(
                        RequestConfiguration(query_parameters=query)
                    ),
                )
                enabled = found is None or found.account_enabled is not False
            else:
                listing = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                    select=_USER_FIELDS, top=1
                )
                page = await self._call(
                    doing, lambda: graph.users.get(RequestConfiguration(query_parameters=listing))
                )
                first = page.value[0] if page is not None and page.value else None
                if first is None or not first.user_principal_name:
                    return [fail("user", "the directory lists no user: pass --user UPN")]
                upn, enabled = first.user_principal_name, first.account_enabled is not False
        except ApplicationError as err:
            refused = READ_USERS.advice + " (disable_sign_in and revoke_sessions read the user)"
            missing = f"no user {user} in the tenant" if user else "pass --user UPN"
            return [
                fail("user", explain(doing, err, refused=refused, missing=missing)),
                skip("mailbox", "not checked: no user to read"),
            ]
        assert upn is not None
        chosen = "" if user else ", the first user listed (pass --user to choose another)"
        state = "enabled" if enabled else "disabled"
        checks = [ok("user", f"read {upn}{chosen}; sign-in {state}")]
        box = Mailbox(graph, upn)
        no_mailbox = f"{upn} has no Exchange Online mailbox: pass --user with a mailbox user"
        doing = f"reading the inbox rules of {upn}"
        try:
            rules = await self._call(doing, box.rules)
            checks.append(ok("inbox rules", f"{len(rules)} inbox rules in {upn}'s mailbox"))
        except ApplicationError as err:
            refused = INBOX_RULES.advice + " (delete_inbox_rules)"
            checks.append(
                fail("inbox rules", explain(doing, err, refused=refused, missing=no_mailbox))
            )
        folder = self.tenant.quarantine_folder
        doing = f"reading the mail folders of {upn}"
        try:
            found_folder = await self._call(doing, lambda: box.top_folder(folder))
            there = "exists" if found_folder else "is created on first use"
            checks.append(
                ok("mail folders", f"read {upn}'s folders; quarantine folder '{folder}' {there}")
            )
        except ApplicationError as err:
            refused = MOVE_MAIL.advice + " (quarantine_mail)"
            checks.append(
                fail("mail folders", explain(doing, err, refused=refused, missing=no_mailbox))
            )
        return checks

    async def _nsgs(self, actions: frozenset[ActionName]) -> list[Check]:
        if not self.tenant.nsgs:
            used = sorted(a.value for users in azure_roles(actions).values() for a in users)
            if used:
                return [
                    fail(
                        "nsgs",
                        f"the policies use {', '.join(used)} but no NSG is configured: "
                        "set RIPOSTE_TENANT__NSGS",
                    )
                ]
            return [skip("nsgs", "no NSG configured, and no policy blocks traffic")]
        return [check for binding in self.tenant.nsgs for check in await self._nsg(binding)]

    async def _nsg(self, binding: NsgBinding) -> list[Check]:
        network = self.clients.network
        name, group = binding.name, binding.resource_group
        doing = f"reading NSG {name} in resource group {group}"
        missing = (
            f"NSG {name} does not exist in resource group {group} of subscription "
            f"{self.tenant.subscription_id}: check tenant.nsgs and tenant.subscription_id"
        )

        async def rules() -> tuple[Any, list[Any]]:
            nsg = await network.network_security_groups.get(group, name)
            return nsg, [rule async for rule in network.security_rules.list(group, name)]

        try:
            nsg, found = await self._call(doing, rules)
        except ApplicationError as err:
            refused = NETWORK_CONTRIBUTOR.advice(f"resource group {group}")
            return [fail(f"nsg {name}", explain(doing, err, refused=refused, missing=missing))]
        flush = bool(nsg.properties is not None and nsg.properties.flush_connection)
        views = [rule_view(rule) for rule in found if rule.properties is not None]
        detail = f"{name} ({group}) protects {binding.cidr}: {len(found)} rules; "
        return [ok(f"nsg {name}", detail + flush_note(flush)), band_check(binding, views)]


def _permissions(token: str, actions: Iterable[ActionName]) -> Check:
    roles = token_roles(token)
    if roles is None:
        return skip(
            "graph permissions",
            "the token does not list its permissions; the reads below show what is refused",
        )
    missing = missing_graph(actions, roles)
    if missing:
        listed = "; ".join(f"{perm} ({', '.join(used)})" for perm, used in missing.items())
        return fail(
            "graph permissions",
            f"the app lacks Graph application permissions the policies need: {listed}; "
            "grant them with admin consent",
        )
    granted = ", ".join(sorted(roles)) or "none"
    return ok("graph permissions", f"granted: {granted}")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
