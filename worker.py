"""The Riposte worker: runs `RespondToAlert`, `TrackIncident` and every activity they call.

    python worker.py        (the same as `riposte worker`)

It connects through the SDK's environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TLS, API key, profile file) and reads Riposte's own settings from RIPOSTE_* variables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.audit import AuditActivities
from activities.budget import BudgetActivities
from activities.nsg_access import NsgAccess
from activities.policy import PolicyActivities
from activities.reconcile import ReconcileActivities, Reconciler, temporal_liveness
from activities.tenant import tenant_activities
from riposte.audit.store import open_configured
from riposte.budget.ledger import open_ledger
from riposte.holders.ledger import Ledger
from riposte.logging import configure_logging
from riposte.metrics import metered_store, start_worker_metrics
from riposte.schedules import ensure_reconcile_schedule
from riposte.service import connect
from riposte.settings import Settings
from workflows.reconcile_blocks import ReconcileBlocks
from workflows.respond_to_alert import RespondToAlert
from workflows.track_incident import TrackIncident


async def run_worker(
    client: Client, settings: Settings, *, stop: asyncio.Event | None = None
) -> None:
    """Serve the task queue until `stop` is set (or forever)."""
    log = structlog.get_logger("riposte.worker").bind(task_queue=settings.task_queue)
    async with AsyncExitStack() as stack:
        store = metered_store(open_configured(settings), client)
        stack.callback(store.close)
        budgets = open_ledger(settings.audit_store_url)  # after the store: its migration made it
        stack.callback(budgets.close)
        ledger = Ledger(settings.audit_store_url)
        tenant = await stack.enter_async_context(
            tenant_activities(settings.tenant, ledger, settings)
        )
        reconciler = Reconciler(
            temporal_liveness(client),
            NsgAccess(tenant.clients.network),
            settings.tenant,
            ledger,
            store,
            ranges=tenant.sign_in_block,
        )
        activities: Sequence[Callable[..., Any]] = [
            PolicyActivities(settings).snapshot_policies,
            AuditActivities(store, raw_max_bytes=settings.audit_raw_max_bytes).record_audit,
            BudgetActivities(budgets, settings.guardrails.budget_limits()).spend_budget,
            ReconcileActivities(reconciler).reconcile_blocks,
            *tenant,
        ]
        try:
            await ensure_reconcile_schedule(client, settings)
        except RPCError as err:  # e.g. a namespace without schedules: serve anyway, say so
            log.warning("no reconcile schedule: run `riposte reconcile` instead", error=err.message)
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[RespondToAlert, TrackIncident, ReconcileBlocks],
            activities=activities,
            max_concurrent_activities=settings.max_concurrent_activities,
            max_task_queue_activities_per_second=settings.activities_per_second,
        )
        log.info("worker started", activities=len(activities))
        async with worker:
            await (stop.wait() if stop is not None else asyncio.Future())
        log.info("worker stopped")


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings()
    configure_logging(settings.log_format)
    start_worker_metrics(settings)  # before connecting: the client's runtime serves them
    client = await connect(settings)
    await run_worker(client, settings)


if __name__ == "__main__":
    asyncio.run(main())
