"""The API for tests: the real app over a real ASGI client, on a real worker and audit store.

make_api(policies, **settings)  ApiHarness: .http (httpx.AsyncClient on the app), .stack (the
                                worker's Stack), .token[role], .auth(role) headers, .denied()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError

from riposte.api.app import create_app
from riposte.api.context import ApiContext
from riposte.api.tokens import Role, TokenStore
from riposte.audit.events import AuditEvent, AuditFilter, AuditKind
from riposte.audit.store import AuditStore, open_configured
from riposte.service import ResponseService
from riposte.settings import NsgBinding, Settings, TenantSettings
from tests.eventually import eventually
from tests.plugins.temporal import Stack, record_histories, write_policies
from worker import run_worker

CLIENT_IP = "203.0.113.7"


@dataclass
class ApiHarness:
    app: FastAPI
    http: httpx.AsyncClient
    stack: Stack
    tokens: TokenStore
    token: dict[Role, str] = field(default_factory=dict)

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token[role]}"}

    def name(self, role: Role) -> str:
        return f"{role.value}-1"

    def denied(self) -> list[AuditEvent]:
        """The `denied` events, once the app's open windows of refusals are written."""
        context: ApiContext = self.app.state.riposte
        self.stack.store.append(context.denials.drain())
        return self.stack.store.query(AuditFilter(kind=AuditKind.DENIED))

    async def post_alert(self, alert: Any, **params: str) -> httpx.Response:
        body = alert if isinstance(alert, str | bytes) else json.dumps(alert, default=str)
        return await self.http.post(
            "/v1/alerts",
            content=body,
            params=params,
            headers={**self.auth(Role.SENDER), "Content-Type": "application/json"},
        )

    async def wait_for(
        self, response_id: str, done: Callable[[dict[str, Any]], bool], seconds: float = 60.0
    ) -> dict[str, Any]:
        """Poll GET /v1/responses/{id} until `done` holds for its JSON."""

        async def fetch() -> dict[str, Any]:
            answer = await self.http.get(
                f"/v1/responses/{quote(response_id, safe='')}", headers=self.auth(Role.ADMIN)
            )
            body: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
            return body

        return await eventually(
            fetch,
            until=lambda v: bool(v) and done(v),
            within=seconds,
            what=f"response {response_id}",
        )


ApiFactory = Callable[..., Awaitable[ApiHarness]]


CANCEL_SECONDS = 20.0


async def cancel_running(client: Client, task_queue: str) -> None:
    """Cancel the responses still running on a test's queue, while its worker still runs, so
    that none is left marked pending_approval with no worker to answer for it.

    Bounded: a cancelled response runs its reverts, which a fault left in the emulator can keep
    retrying; whatever has not finished after CANCEL_SECONDS (all together, not each) is
    terminated, so the worker has nothing left in flight when it is asked to stop.
    """
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    handles = [client.get_workflow_handle(wf.id) async for wf in client.list_workflows(query)]
    for handle in handles:
        await handle.cancel()

    async def finished(handle: WorkflowHandle[Any, Any]) -> None:
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()

    waits = [asyncio.ensure_future(finished(handle)) for handle in handles]
    if waits:
        await asyncio.wait(waits, timeout=CANCEL_SECONDS)
    for handle, wait in zip(handles, waits, strict=True):
        if not wait.done():
            wait.cancel()
            with contextlib.suppress(RPCError):
                await handle.terminate("test teardown: not cancelled in time")


@pytest.fixture
async def make_api(
    temporal_client: Client, tenant: TenantSettings, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[ApiFactory]:
    """Start a worker with `policies` (YAML text by name) against the emulator tenant, and the
    app over it, with one token per role. `nsgs` adds NSG bindings to the tenant's; other
    keywords are Settings fields.

    This is tests.plugins.temporal's make_stack plus what the API needs (tokens, the app, a
    tenant with more NSG ranges), so the worker is the same real one.
    """
    workers: list[tuple[asyncio.Event, asyncio.Task[None]]] = []
    stores: list[AuditStore] = []
    clients: list[httpx.AsyncClient] = []
    harnesses: list[ApiHarness] = []
    queues: list[str] = []

    async def start(
        policies: dict[str, str], *, nsgs: tuple[NsgBinding, ...] = (), **overrides: Any
    ) -> ApiHarness:
        n = len(workers)
        data_dir = tmp_path / f"api-data-{n}"
        data_dir.mkdir()
        settings = Settings(
            data_dir=data_dir,
            policies_dir=write_policies(tmp_path / f"api-policies-{n}", policies),
            task_queue=f"riposte-api-{uuid.uuid4()}",
            tenant=tenant.model_copy(update={"nsgs": (*tenant.nsgs, *nsgs)}),
            **overrides,
        )
        queues.append(settings.task_queue)
        stop = asyncio.Event()
        workers.append(
            (stop, asyncio.create_task(run_worker(temporal_client, settings, stop=stop)))
        )
        store = open_configured(settings)
        stores.append(store)
        stack = Stack(
            settings,
            ResponseService(temporal_client, settings.task_queue, settings.incidents),
            store,
        )
        tokens = TokenStore.in_data_dir(data_dir)
        app = create_app(settings, stack.service, store, tokens)
        transport = httpx.ASGITransport(app=app, client=(CLIENT_IP, 50123))
        http = httpx.AsyncClient(transport=transport, base_url="http://riposte.test")
        clients.append(http)
        harness = ApiHarness(app=app, http=http, stack=stack, tokens=tokens)
        harnesses.append(harness)
        for role in Role:
            harness.token[role] = tokens.create(role, harness.name(role))
        return harness

    yield start
    for http in clients:
        await http.aclose()
    for harness in harnesses:  # as `riposte serve` stops: open windows audited, flusher ended
        await harness.app.state.riposte.denials.close()
    for n, queue in enumerate(queues):
        await asyncio.wait_for(cancel_running(temporal_client, queue), 60)
        if os.environ.get("RIPOSTE_RECORD_HISTORIES"):
            await record_histories(temporal_client, queue, f"{request.node.name}-{n}")
    for stop, task in workers:
        stop.set()
        await asyncio.wait_for(task, 60)  # a worker that cannot stop is a failure, not a hang
    for store in stores:
        store.close()
