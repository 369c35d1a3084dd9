"""The tenant actions for the worker: every Graph and ARM activity, on one set of SDK clients.

    async with tenant_activities(settings.tenant) as activities:
        Worker(client, task_queue=..., activities=[*activities, ...])

`build_activities` gives the same list without the context manager; close it when done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from activities.graph import GraphActivities
from activities.network import NetworkActivities
from riposte.settings import TenantSettings
from riposte.tenant.clients import TenantClients, connect


class TenantActivities(list[Callable[..., Any]]):
    """The activity callables (a plain list the worker can take), and the clients they share."""

    def __init__(self, clients: TenantClients, tenant: TenantSettings) -> None:
        self.clients = clients
        self.graph = GraphActivities(clients.graph, tenant)
        self.network = NetworkActivities(clients.network, tenant)
        super().__init__(
            [
                self.graph.disable_sign_in,
                self.graph.enable_sign_in,
                self.graph.revoke_sessions,
                self.graph.delete_inbox_rules,
                self.graph.restore_inbox_rules,
                self.graph.quarantine_mail,
                self.graph.release_mail,
                self.network.block_ports,
                self.network.block_outbound,
                self.network.unblock,
            ]
        )

    async def close(self) -> None:
        """Close the SDK clients and the credential's session."""
        await self.clients.close()


def build_activities(tenant: TenantSettings) -> TenantActivities:
    """Every tenant action activity, on clients built from `tenant` (no request is made yet)."""
    return TenantActivities(connect(tenant), tenant)


@asynccontextmanager
async def tenant_activities(tenant: TenantSettings) -> AsyncIterator[TenantActivities]:
    """`build_activities`, closed on exit."""
    activities = build_activities(tenant)
    try:
        yield activities
    finally:
        await activities.close()
