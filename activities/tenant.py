"""The tenant actions for the worker and `riposte act`: every activity the catalogue names, on
one set of SDK clients.

    async with tenant_activities(settings.tenant, Ledger(settings.audit_store_url)) as activities:
        Worker(client, task_queue=..., activities=[*activities, ...])

Each action module's class gets the client it uses. Registration follows the catalogue: every
activity it names must be implemented here (a missing one fails at startup, not mid-response),
and nothing outside it is registered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from activities.app_consents import AppConsentActivities
from activities.auth_methods import AuthMethodActivities
from activities.clients import TenantClients, connect
from activities.inbox_rules import InboxRuleActivities
from activities.mail import MailActivities
from activities.network import NetworkActivities
from activities.password import PasswordActivities
from activities.pattern_of_life import PatternOfLifeActivities, blob_services
from activities.protection import ProtectedEntities, guard_activities
from activities.sessions import SessionActivities
from activities.sign_in import SignInActivities
from activities.sign_in_block import SignInBlockActivities
from riposte.actions.catalogue import CATALOGUE, activity_refs
from riposte.actions.payloads import ActionInput, ActionName, ActionResult, RevertInput
from riposte.activity_refs import ActivityRef, ref_of
from riposte.holders.ledger import Ledger
from riposte.settings import Settings, TenantSettings


class TenantActivities(list[Callable[..., Any]]):
    """The activity callables (a plain list the worker can take), and the clients they share."""

    def __init__(
        self,
        clients: TenantClients,
        tenant: TenantSettings,
        ledger: Ledger | None,
        protection: ProtectedEntities | None = None,
        protected_users: Sequence[str] = (),
    ) -> None:
        self.clients = clients
        self.ledger = ledger
        self.network = NetworkActivities(clients.network, tenant, ledger)
        self.sign_in_block = SignInBlockActivities(
            clients.graph, tenant, protected_users, ledger, protection
        )
        blobs = blob_services(tenant, clients.credential)
        self._bound = _bind(
            (
                SignInActivities(clients.graph),
                SessionActivities(clients.graph),
                InboxRuleActivities(clients.graph, tenant),
                MailActivities(clients.graph, tenant),
                self.network,
                PatternOfLifeActivities(clients.network, blobs, tenant, self.network),
                self.sign_in_block,
                PasswordActivities(clients.graph),
                AuthMethodActivities(clients.graph),
                AppConsentActivities(clients.graph),
            )
        )
        if protection is not None:  # every action's execute activity checks it first
            guard_activities(self._bound, protection)
        super().__init__(self._bound[ref.name] for ref in activity_refs())

    def act(self, action: ActionName) -> Callable[[ActionInput], Awaitable[ActionResult]]:
        """The activity that simulates or executes `action`."""
        return self._get(CATALOGUE[action].act)

    def revert(self, action: ActionName) -> Callable[[RevertInput], Awaitable[ActionResult]]:
        """The activity that reverts `action`; ValueError when it has none."""
        ref = CATALOGUE[action].revert
        if ref is None:
            raise ValueError(f"{action.value} has no revert")
        return self._get(ref)

    def _get(self, ref: ActivityRef[Any, ActionResult]) -> Callable[[Any], Awaitable[ActionResult]]:
        found: Callable[[Any], Awaitable[ActionResult]] = self._bound[ref.name]
        return found

    async def close(self) -> None:
        """Close the SDK clients, the credential's session and the ledger."""
        await self.clients.close()
        if self.ledger is not None:
            self.ledger.close()


def _bind(implementations: Iterable[object]) -> dict[str, Callable[..., Any]]:
    """Each implementation's methods bound with `ActivityRef.defn`, by activity name."""
    bound: dict[str, Callable[..., Any]] = {}
    for implementation in implementations:
        for attribute in vars(type(implementation)).values():
            ref = ref_of(attribute)
            if ref is not None:
                bound[ref.name] = getattr(implementation, attribute.__name__)
    named = {ref.name for ref in activity_refs()}
    missing, extra = sorted(named - set(bound)), sorted(set(bound) - named)
    if missing or extra:
        raise RuntimeError(f"activities not implemented: {missing}; not in the catalogue: {extra}")
    return bound


def build_activities(
    tenant: TenantSettings, ledger: Ledger | None = None, guard: Settings | None = None
) -> TenantActivities:
    """Every tenant action activity, on clients built from `tenant` (no request is made yet).
    The network actions need the holders ledger; without one they fail as misconfigured. With
    `guard`, each action checks its settings' protected entities before it acts, and a
    sign-in block exempts its protected users."""
    clients = connect(tenant)
    protection = ProtectedEntities.from_settings(clients.graph, guard) if guard else None
    users = guard.protected_users if guard else ()
    return TenantActivities(clients, tenant, ledger, protection, users)


@asynccontextmanager
async def tenant_activities(
    tenant: TenantSettings, ledger: Ledger | None = None, guard: Settings | None = None
) -> AsyncIterator[TenantActivities]:
    """`build_activities`, closed on exit (the ledger with it)."""
    activities = build_activities(tenant, ledger, guard)
    try:
        yield activities
    finally:
        await activities.close()
