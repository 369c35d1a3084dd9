"""Riposte beyond the embedded stack: workers configured from the environment alone, on their own
Temporal server and namespace, sharing one task queue and surviving the loss of one of them."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from riposte.audit.events import AuditFilter, AuditKind
from riposte.audit.store import open_store
from riposte.response import ActionState
from riposte.service import ResponseService
from riposte.settings import TenantSettings
from riposte.temporal_server import SEARCH_ATTRIBUTES, SQLITE_PRAGMAS, temporal_binary
from tests.eventually import eventually
from tests.plugins.temporal import write_policies
from tests.responses import all_in, network_policy, scan_alert, takeover_alert, wait_for
from tests.workers import start_worker, worker_env, workers_store

NAMESPACE = "riposte-pilot"


@pytest.fixture(scope="module")
async def separate_server() -> AsyncIterator[WorkflowEnvironment]:
    """A second Temporal dev server, on its own port and namespace, apart from the suite's."""
    env = await WorkflowEnvironment.start_local(
        namespace=NAMESPACE,
        dev_server_existing_path=str(temporal_binary()),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=list(SQLITE_PRAGMAS),
    )
    yield env
    await env.shutdown()


async def test_worker_from_environment_alone_serves_another_server_and_namespace(
    separate_server: WorkflowEnvironment, tenant: TenantSettings, tmp_path: Path
) -> None:
    """`python worker.py` with only TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and RIPOSTE_* set
    serves a response on a non-default port and namespace."""
    target = separate_server.client.service_client.config.target_host
    assert not target.endswith(":7233") and separate_server.client.namespace == NAMESPACE
    queue = f"pilot-{uuid.uuid4()}"
    policies = write_policies(
        tmp_path / "p", {"network-lateral-movement": network_policy("passive")}
    )
    (tmp_path / "data").mkdir()
    env = worker_env(separate_server, tenant, tmp_path / "data", policies, queue)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        service = ResponseService(separate_server.client, queue)
        rid = (await service.submit(scan_alert())).response_id
        view = await wait_for(service, rid, all_in(ActionState.SIMULATED), within=60)
    finally:
        worker.terminate()
        worker.wait()
    assert len(view.actions) == 2


async def test_two_workers_share_a_burst_and_losing_one_loses_nothing(
    temporal_env: WorkflowEnvironment, tenant: TenantSettings, emulator_seam: Any, tmp_path: Path
) -> None:
    """Two worker processes on one queue share a burst of alerts; one is killed mid-burst and
    every alert still gets its whole response, each side effect applied once."""
    queue = f"burst-{uuid.uuid4()}"
    policies = write_policies(tmp_path / "p", {"m365-account-takeover": _disable_sign_in_policy()})
    (tmp_path / "data").mkdir()
    env = worker_env(temporal_env, tenant, tmp_path / "data", policies, queue)
    # A burst of one autonomous action per account is the point here, not the budgets.
    env |= {
        "RIPOSTE_GUARDRAILS__BUDGET_PER_ACTION": "1000",
        "RIPOSTE_GUARDRAILS__BUDGET_TOTAL": "1000",
    }
    workers = [start_worker(env, tmp_path / f"worker-{n}.log") for n in range(2)]
    await both_polling(temporal_env, queue)  # before the burst, so both take a share
    state = emulator_seam.state()
    protected = {"breakglass@contoso.com", *state["directory_roles"]["Global Administrator"]}
    users = [u for u in state["users"] if u not in protected]
    alerts = [takeover_alert(user) for user in users]
    service = ResponseService(temporal_env.client, queue)
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'audit.db'}")
    try:
        ids = [s.response_id for s in await asyncio.gather(*map(service.submit, alerts))]
        await eventually(  # until the burst is under way
            lambda: store.query(AuditFilter(kind=AuditKind.EXECUTED)),
            every=0.05,
            what="a first action executed",
        )
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        views = [
            await wait_for(service, rid, all_in(ActionState.EXECUTED), within=180) for rid in ids
        ]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    assert all(len(v.actions) == 1 for v in views)
    executed = store.query(AuditFilter(kind=AuditKind.EXECUTED))
    assert sorted(e.response_id for e in executed) == sorted(ids)
    with closing(workers_store(tmp_path / "data")) as keyed:
        assert keyed.verify().ok
    assert len(await activity_workers(temporal_env, ids)) == 2, "both workers took part"
    disabled = emulator_seam.effects()["PATCH /v1.0/users/{id}"]
    assert disabled == len(users), "each account disabled exactly once"
    assert not any(
        u["accountEnabled"] for n, u in emulator_seam.state()["users"].items() if n in users
    )
    store.close()


async def both_polling(env: WorkflowEnvironment, queue: str) -> None:
    """Wait until two distinct workers poll the queue for activities."""
    request = DescribeTaskQueueRequest(
        namespace=env.client.namespace,
        task_queue=TaskQueue(name=queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    )

    async def pollers() -> set[str]:
        described = await env.client.workflow_service.describe_task_queue(request)
        return {poller.identity for poller in described.pollers}

    await eventually(pollers, until=lambda found: len(found) >= 2, what="two workers polling")


async def activity_workers(env: WorkflowEnvironment, response_ids: list[str]) -> set[str]:
    """The identities of the workers that ran the responses' activities (from their histories)."""
    identities = set()
    for rid in response_ids:
        history = await env.client.get_workflow_handle(rid).fetch_history()
        for event in history.events:
            if event.HasField("activity_task_started_event_attributes"):
                identities.add(event.activity_task_started_event_attributes.identity)
    return identities


def _disable_sign_in_policy() -> str:
    return """
name: m365-account-takeover
match:
  source: darktrace
  name: "SaaS / Compromise / *"
  entities: [user]
mode: autonomous
actions: [disable_sign_in]
"""
