"""The worker's Temporal Schedule: a reconciler pass every `reconcile_interval_seconds`.

Created on worker start when missing, its interval updated when the setting changed; one per
task queue, so several deployments can share a namespace. Overlapping passes are skipped.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from riposte.holders.report import ReconcileRequest
from riposte.settings import Settings
from workflows.reconcile_blocks import SCHEDULE_ID, ReconcileBlocks


def schedule_id(task_queue: str) -> str:
    return f"{SCHEDULE_ID}-{task_queue}"


async def ensure_reconcile_schedule(client: Client, settings: Settings) -> None:
    every = timedelta(seconds=settings.reconcile_interval_seconds)
    ident = schedule_id(settings.task_queue)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            ReconcileBlocks.run,
            ReconcileRequest(),
            id=ident,
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(ident, schedule)
    except ScheduleAlreadyRunningError:

        def updated(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(ident).update(updated)
