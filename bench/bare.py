"""Bare Temporal: a workflow of no-op activities shaped like a Riposte response, and its worker.

    TEMPORAL_ADDRESS=127.0.0.1:7233 BENCH_TASK_QUEUE=bare python bench/bare.py

`BareResponse` runs what `RespondToAlert` runs for an alert that matches an autonomous policy,
minus the work: a local activity (the policy snapshot), an audit write, then `actions` regular
activities at once, each followed by an audit write (its `executed` event). Audit writes are
local activities (one at a time) or regular ones, as `RespondToAlert` does them. The optional
parts let the throughput bench price one of Riposte's costs at a time: the status search
attribute (set at start, upserted when the first action lands and at the end) and a simulate
round trip before each action.

It returns the wall-clock time (time.time()) at which the first action activity started.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

STATUS = SearchAttributeKey.for_keyword("ResponseStatus")
TIMEOUT = timedelta(seconds=30)


@dataclass(frozen=True)
class Shape:
    """What one bare response does; the defaults are a two-action autonomous response."""

    snapshot: bool = True  # a local activity first (the policy snapshot)
    opening_audit: bool = True  # then the opening audit write
    audit_local: bool = True  # audit writes as local activities, else as regular ones
    actions: int = 2  # regular activities, started together
    audit_per_action: bool = True  # an audit write after each action
    simulate_first: bool = False  # a regular activity before each action (human-confirm)
    status_upserts: bool = False  # upsert the status search attribute like RespondToAlert
    sandboxed: bool = True  # False: run as BareResponseUnsandboxed

    @property
    def workflow(self) -> str:
        return "BareResponse" if self.sandboxed else "BareResponseUnsandboxed"


@activity.defn(name="bare_bookkeeping")
async def bookkeeping(step: int) -> int:
    return step


@activity.defn(name="bare_action")
async def action(step: int) -> float:
    return time.time()


class _Bare:
    def __init__(self) -> None:
        self._status = ""
        self._one_local_at_a_time = asyncio.Lock()

    async def _run(self, shape: Shape) -> float:
        if shape.snapshot:
            await workflow.execute_local_activity(bookkeeping, 0, start_to_close_timeout=TIMEOUT)
        if shape.opening_audit:
            await self._audit(shape, 1)
        started = await asyncio.gather(*(self._act(shape, n) for n in range(shape.actions)))
        self._set_status(shape, "completed")
        return min(started, default=0.0)

    async def _act(self, shape: Shape, n: int) -> float:
        if shape.simulate_first:
            await workflow.execute_activity(action, n, start_to_close_timeout=TIMEOUT)
        started = await workflow.execute_activity(action, n, start_to_close_timeout=TIMEOUT)
        self._set_status(shape, "active")
        if shape.audit_per_action:
            await self._audit(shape, n)
        return started

    async def _audit(self, shape: Shape, step: int) -> None:
        if not shape.audit_local:
            await workflow.execute_activity(bookkeeping, step, start_to_close_timeout=TIMEOUT)
            return
        # One at a time: concurrent local activities can resolve in another grouping on replay
        # (temporalio/sdk-python#1881), which this shape must not depend on.
        async with self._one_local_at_a_time:
            await workflow.execute_local_activity(bookkeeping, step, start_to_close_timeout=TIMEOUT)

    def _set_status(self, shape: Shape, status: str) -> None:
        if shape.status_upserts and status != self._status:
            self._status = status
            workflow.upsert_search_attributes([STATUS.value_set(status)])


@workflow.defn(name="BareResponse")
class BareResponse(_Bare):
    @workflow.run
    async def run(self, shape: Shape) -> float:
        return await self._run(shape)


@workflow.defn(name="BareResponseUnsandboxed", sandboxed=False)
class BareResponseUnsandboxed(_Bare):
    """The same, outside the workflow sandbox: what the sandbox costs."""

    @workflow.run
    async def run(self, shape: Shape) -> float:
        return await self._run(shape)


async def serve(address: str, task_queue: str) -> None:
    """Run the bare worker, configured like Riposte's (50 concurrent activities), until killed."""
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareResponse, BareResponseUnsandboxed],
        activities=[bookkeeping, action],
        max_concurrent_activities=50,
    )
    await worker.run()


if __name__ == "__main__":
    import bare  # the workflow must come from an importable module, not __main__

    asyncio.run(bare.serve(os.environ["TEMPORAL_ADDRESS"], os.environ["BENCH_TASK_QUEUE"]))
