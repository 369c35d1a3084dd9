"""`ReconcileBlocks`: one pass of the reconciler, started by the worker's Schedule.

Deterministic code only: the pass itself is the `reconcile_blocks` activity
(activities/reconcile.py), retried until it completes; each of its steps is idempotent.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from riposte.holders.report import RECONCILE_BLOCKS, ReconcileReport, ReconcileRequest

SCHEDULE_ID = "riposte-reconcile"  # one per task queue: "riposte-reconcile-{task queue}"
PASS_TIMEOUT = timedelta(minutes=5)
PASS_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=5)


@workflow.defn(name="ReconcileBlocks")
class ReconcileBlocks:
    @workflow.run
    async def run(self, request: ReconcileRequest) -> ReconcileReport:
        report: ReconcileReport = await workflow.execute_activity(
            RECONCILE_BLOCKS.name,
            request,
            result_type=RECONCILE_BLOCKS.result,
            start_to_close_timeout=PASS_TIMEOUT,
            retry_policy=PASS_RETRY,
        )
        return report
