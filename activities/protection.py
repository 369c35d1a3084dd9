"""Protected entities, enforced again inside every action activity, whatever the plan said.

    ProtectedEntities.check(action, target)   raises FailureType.Protected (non-retryable)
    ├── protected users            (settings.protected_users, by UPN, ignoring case)
    ├── members of protected roles (settings.guardrails.protected_roles, Global Administrator by
    │                               default), read through Graph: /directoryRoles, then each
    │                               matching role's /members; cached for
    │                               protected_roles_cache_seconds and at most MAX_MEMBERS names
    └── protected ranges           (settings.protected_ranges), for IP targets

`guard_activities` wraps every catalogue action's execute activity once, so a new action is
guarded by being in the catalogue. A role listing that cannot be read fails the attempt (the
failure is typed like any Graph error: retried while transient), so an unreadable directory
never lets an action through. Reverts are not guarded: they only undo what Riposte did.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Awaitable, Callable, Iterable

from msgraph.generated.models.directory_role import DirectoryRole
from msgraph.generated.models.user import User
from msgraph.graph_service_client import GraphServiceClient
from temporalio import activity

from activities.errors import translated
from riposte.actions.catalogue import CATALOGUE, READ_PROTECTED_ROLES
from riposte.actions.descriptor import Target
from riposte.actions.payloads import ActionInput, ActionName, ActionResult
from riposte.domain.addresses import AddressRefused, contains, normalise_address
from riposte.failures import protected
from riposte.settings import Settings

MAX_MEMBERS = 10_000  # names cached per refresh: a bound on memory, however big the roles
Act = Callable[[ActionInput], Awaitable[ActionResult]]


class ProtectedEntities:
    """Who and what no activity may act on; role members read through Graph, cached."""

    def __init__(
        self,
        graph: GraphServiceClient,
        users: Iterable[str],
        ranges: Iterable[str],
        roles: Iterable[str],
        cache_seconds: int,
    ) -> None:
        self._graph = graph
        self._users = {u.casefold() for u in users}
        self._ranges = [ipaddress.ip_network(r, strict=False) for r in ranges]
        self._roles = {r.casefold() for r in roles}
        self._cache_seconds = cache_seconds
        self._members: dict[str, str] = {}  # UPN (casefolded) -> the role it holds
        self._read_at: float | None = None
        self._refresh = asyncio.Lock()

    @classmethod
    def from_settings(cls, graph: GraphServiceClient, settings: Settings) -> ProtectedEntities:
        g = settings.guardrails
        return cls(
            graph,
            settings.protected_users,
            settings.protected_ranges,
            g.protected_roles,
            g.protected_roles_cache_seconds,
        )

    async def check(self, action: ActionName, target: str) -> None:
        """Raise FailureType.Protected when `target` must not be acted on."""
        if CATALOGUE[action].target is Target.IP:
            self._check_address(target)
            return
        upn = target.casefold()
        if upn in self._users:
            raise protected(f"{target} is a protected account")
        role = (await self._role_members()).get(upn)
        if role is not None:
            raise protected(f"{target} holds the protected directory role {role}")

    def _check_address(self, target: str) -> None:
        try:  # normalised as everywhere (riposte.domain.addresses): ::ffff:10.0.0.5 is 10.0.0.5
            address = normalise_address(target)
        except AddressRefused:
            return  # the action's own validation refuses it, with the reason
        for network in self._ranges:
            if contains(network, address):
                raise protected(f"{target} is in protected range {network}")

    async def _role_members(self) -> dict[str, str]:
        if not self._roles:
            return {}
        async with self._refresh:
            fresh = self._read_at is not None and (
                time.monotonic() - self._read_at < self._cache_seconds
            )
            if not fresh:
                self._members = await self._read_members()
                self._read_at = time.monotonic()
            return self._members

    async def role_templates(self) -> list[str]:
        """The template ids of the protected roles active in the tenant: what a Conditional
        Access policy excludes by (`excludeRoles`)."""
        with translated("reading the protected directory roles", (READ_PROTECTED_ROLES,)):
            return [r.role_template_id for r in await self._protected_roles() if r.role_template_id]

    async def _protected_roles(self) -> list[DirectoryRole]:
        if not self._roles:
            return []
        roles = await self._graph.directory_roles.get()
        found = roles.value if roles and roles.value else []
        return [r for r in found if (r.display_name or "").casefold() in self._roles and r.id]

    async def _read_members(self) -> dict[str, str]:
        members: dict[str, str] = {}
        with translated("reading the protected directory roles", (READ_PROTECTED_ROLES,)):
            for role in await self._protected_roles():
                name, role_id = role.display_name or "", str(role.id)
                page = await self._graph.directory_roles.by_directory_role_id(role_id).members.get()
                while page is not None:
                    for member in page.value or []:
                        upn = member.user_principal_name if isinstance(member, User) else None
                        if upn and len(members) < MAX_MEMBERS:
                            members[upn.casefold()] = name
                    link = page.odata_next_link
                    if not link:
                        break
                    page = (
                        await self._graph.directory_roles.by_directory_role_id(role_id)
                        .members.with_url(link)
                        .get()
                    )
        return members


def guard_activities(bound: dict[str, Callable[..., object]], entities: ProtectedEntities) -> None:
    """Wrap each catalogue action's execute activity, in `bound` (by activity name), with the
    protected-entity check: once here, for every action."""
    for descriptor in CATALOGUE.values():
        name = descriptor.act.name
        inner = bound[name]
        bound[name] = _guarded(name, inner, entities)  # type: ignore[arg-type]


def _guarded(name: str, inner: Act, entities: ProtectedEntities) -> Act:
    async def guarded(request: ActionInput) -> ActionResult:
        await entities.check(request.action, request.target)
        return await inner(request)

    guarded.__name__ = guarded.__qualname__ = name
    defined: Act = activity.defn(name=name)(guarded)
    return defined
