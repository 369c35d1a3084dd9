"""Bare Temporal: a workflow of no-op activities shaped like a Riposte response, and its worker.

    TEMPORAL_ADDRESS=127.0.0.1:7233 BENCH_TASK_QUEUE=bare python bench/bare.py

`BareResponse` runs what `RespondToAlert` runs for an alert that matches an autonomous policy,
minus the work: a local activity (the policy snapshot), an audit write, then `actions` regular
activities at once, each followed by an audit write (its `executed` event). Audit writes are
local activities (one at a time) or regular ones, as `RespondToAlert` does them. The optional
parts let the throughput bench price one of Riposte's costs at a time: the status search
attribute (set at start, upserted when the first action lands and at the end) and a simulate
round trip before each action. With `sdk`, the action activities make the msgraph-sdk calls
of (b2)'s actions against the tenant named by RIPOSTE_TENANT (the emulator), on the client
Riposte builds (activities.clients.connect): the first reads the user then PATCHes
accountEnabled (disable_sign_in), the second POSTs revokeSignInSessions (revoke_sessions); no
policy, audit, validation or bookkeeping. The worker serves them only when RIPOSTE_TENANT is set.

It returns the wall-clock time (time.time()) at which the first action activity started.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.user import User
    from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
    from msgraph.graph_service_client import GraphServiceClient

    from activities.clients import connect
    from riposte.settings import TenantSettings

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
    sdk: bool = False  # the actions make (b2)'s msgraph-sdk calls for `user`
    user: str = ""

    @property
    def workflow(self) -> str:
        return "BareResponse" if self.sandboxed else "BareResponseUnsandboxed"


@activity.defn(name="bare_bookkeeping")
async def bookkeeping(step: int) -> int:
    return step


@activity.defn(name="bare_action")
async def action(step: int) -> float:
    return time.time()


@dataclass(frozen=True)
class GraphStep:
    n: int  # 0: disable_sign_in's read and PATCH; otherwise revoke_sessions' POST
    user: str


class GraphActions:
    """(b2)'s two actions as bare msgraph-sdk calls, on the client Riposte's worker builds."""

    def __init__(self, graph: GraphServiceClient) -> None:
        self.graph = graph

    @activity.defn(name="bare_graph_action")
    async def act(self, step: GraphStep) -> float:
        started = time.time()
        user = self.graph.users.by_user_id(step.user)
        if step.n == 0:
            query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                select=["id", "userPrincipalName", "accountEnabled"]
            )
            await user.get(RequestConfiguration(query_parameters=query))
            await user.patch(User(account_enabled=False))
        else:
            await user.revoke_sign_in_sessions.post()
        return started


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
        started: float
        if shape.sdk:
            started = await workflow.execute_activity(
                "bare_graph_action",
                GraphStep(n, shape.user),
                start_to_close_timeout=TIMEOUT,
                result_type=float,
            )
        else:
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
    activities: list[Callable[..., Any]] = [bookkeeping, action]
    tenant = os.environ.get("RIPOSTE_TENANT")
    clients = connect(TenantSettings.model_validate_json(tenant)) if tenant else None
    if clients is not None:
        activities.append(GraphActions(clients.graph).act)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareResponse, BareResponseUnsandboxed],
        activities=activities,
        max_concurrent_activities=50,
    )
    try:
        await worker.run()
    finally:
        if clients is not None:
            await clients.close()


if __name__ == "__main__":
    import bare  # the workflow must come from an importable module, not __main__

    asyncio.run(bare.serve(os.environ["TEMPORAL_ADDRESS"], os.environ["BENCH_TASK_QUEUE"]))
