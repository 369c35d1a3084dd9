"""Worker metrics: Temporal's and Riposte's on one Prometheus endpoint, counted at audit writes."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.audit import AuditActivities
from riposte.audit.events import AuditBatch, AuditKind, AuditRecord
from riposte.audit.sqlite import SqliteStore
from riposte.audit.store import AuditStore
from riposte.errors import InvalidInput, Unavailable
from riposte.metrics import (
    ACTIONS,
    APPROVAL_WAIT,
    AUDIT_EVENTS,
    REVERT_BACKLOG,
    MeteredStore,
    WorkerMetrics,
    metered_store,
    start_worker_metrics,
    worker_runtime,
)
from riposte.response import ActionState
from riposte.service import ResponseService
from riposte.settings import Settings, TenantSettings
from tests.eventually import eventually
from tests.plugins.audit import START
from tests.plugins.temporal import write_policies
from tests.responses import all_in, takeover_alert, takeover_policy, wait_for
from tests.workers import start_worker, worker_env

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SAMPLE = re.compile(r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def scrape(address: str) -> Samples:
    """Every sample on the endpoint, by its exposed name and labels (service_name left out)."""
    text = httpx.get(f"http://{address}/metrics", timeout=10).text
    samples: Samples = {}
    for line in text.splitlines():
        found = SAMPLE.fullmatch(line.strip())
        if found is None:
            continue
        pairs = LABEL.findall(found["labels"] or "")
        labels = frozenset((k, v) for k, v in pairs if k != "service_name")
        samples[(found["name"], labels)] = float(found["value"])
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def event(
    n: int, kind: AuditKind, action: str, *, minutes: float = 0, **fields: Any
) -> AuditRecord:
    response = fields.pop("response", "darktrace:dt-1")
    return AuditRecord(
        id=f"{response}/{kind.value}/{action}/{n}",
        time=START + timedelta(minutes=minutes),
        kind=kind,
        response_id=response,
        action_id=f"{response}:{action}",
        action=action,
        target="ben@contoso.com",
        mode="human-confirm",
        **fields,
    )


@pytest.fixture
def address() -> str:
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def runtime(address: str) -> Runtime:
    return worker_runtime(address)


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "audit.db")
    yield store
    store.close()


async def record(store: AuditStore, *records: AuditRecord) -> None:
    await ActivityEnvironment().run(
        AuditActivities(store).record_audit, AuditBatch(records=records)
    )


async def test_actions_are_counted_by_action_and_outcome(
    runtime: Runtime, address: str, sqlite: SqliteStore
) -> None:
    """Events written through the audit activity appear on the endpoint by action and outcome."""
    store = MeteredStore(sqlite, WorkerMetrics(runtime.metric_meter))
    await record(
        store,
        event(1, AuditKind.SIMULATED, "disable_sign_in"),
        event(2, AuditKind.SIMULATED, "revoke_sessions"),
        event(3, AuditKind.EXECUTED, "disable_sign_in", response="darktrace:dt-2"),
        event(4, AuditKind.FAILED, "quarantine_mail", response="darktrace:dt-2"),
    )
    samples = scrape(address)
    assert value(samples, ACTIONS, action="disable_sign_in", outcome="simulated") == 1
    assert value(samples, ACTIONS, action="disable_sign_in", outcome="executed") == 1
    assert value(samples, ACTIONS, action="quarantine_mail", outcome="failed") == 1
    assert value(samples, AUDIT_EVENTS, kind="simulated") == 2
    assert value(samples, ACTIONS, action="revoke_sessions", outcome="executed") is None


async def test_approval_wait_runs_from_request_to_decision(
    runtime: Runtime, address: str, sqlite: SqliteStore
) -> None:
    """An approval decided 90 s after its request is observed as a 90 s wait, by decision."""
    store = MeteredStore(sqlite, WorkerMetrics(runtime.metric_meter))
    await record(store, event(1, AuditKind.APPROVAL_REQUESTED, "disable_sign_in", minutes=0))
    await record(store, event(2, AuditKind.APPROVED, "disable_sign_in", minutes=1.5))
    await record(
        store,
        event(3, AuditKind.APPROVAL_REQUESTED, "revoke_sessions", minutes=0),
        event(4, AuditKind.APPROVAL_EXPIRED, "revoke_sessions", minutes=240),
    )
    samples = scrape(address)
    assert value(samples, APPROVAL_WAIT + "_count", decision="approved") == 1
    assert value(samples, APPROVAL_WAIT + "_sum", decision="approved") == pytest.approx(90)
    assert value(samples, APPROVAL_WAIT + "_bucket", decision="approved", le="60") == 0
    assert value(samples, APPROVAL_WAIT + "_bucket", decision="approved", le="300") == 1
    assert value(samples, APPROVAL_WAIT + "_sum", decision="approval_expired") == 4 * 3600


async def test_revert_backlog_follows_the_whole_trail(
    runtime: Runtime, address: str, sqlite: SqliteStore
) -> None:
    """The backlog counts reversible actions executed and not yet reverted or released, whoever
    wrote them: a second worker starting later reports the same number."""
    store = MeteredStore(sqlite, WorkerMetrics(runtime.metric_meter))
    await record(
        store,
        event(1, AuditKind.EXECUTED, "disable_sign_in"),
        event(2, AuditKind.EXECUTED, "revoke_sessions"),  # not reversible: never in the backlog
        event(3, AuditKind.EXECUTED, "block_ports"),
        event(4, AuditKind.EXECUTED, "block_outbound"),
    )
    assert value(scrape(address), REVERT_BACKLOG) == 3
    await record(
        store,
        event(5, AuditKind.REVERTED, "block_ports"),
        event(6, AuditKind.RELEASED, "block_outbound"),
    )
    assert value(scrape(address), REVERT_BACKLOG) == 1

    other_address = f"127.0.0.1:{free_port()}"
    other = worker_runtime(other_address)
    MeteredStore(sqlite, WorkerMetrics(other.metric_meter))
    assert value(scrape(other_address), REVERT_BACKLOG) == 1


def test_a_client_without_metrics_gets_the_store_itself(
    temporal_client: Client, sqlite: SqliteStore
) -> None:
    """With no Prometheus exporter on the client's runtime, nothing wraps the audit store."""
    assert metered_store(sqlite, temporal_client) is sqlite


def test_no_metrics_address_starts_nothing() -> None:
    """Without `metrics_address` the worker's entry point leaves the Temporal runtime alone."""
    assert start_worker_metrics(Settings(metrics_address=None)) is None


def test_bad_or_busy_addresses_are_typed_errors() -> None:
    """A malformed address is InvalidInput; an address already in use is Unavailable."""
    for bad in ("9464", "localhost:", ":9464", "localhost:http", "127.0.0.1:0"):
        with pytest.raises(InvalidInput, match="HOST:PORT"):
            worker_runtime(bad)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(Unavailable, match=f"127.0.0.1:{port}"):
            worker_runtime(f"127.0.0.1:{port}")


def metered_worker_env(
    env: WorkflowEnvironment, tenant: TenantSettings, tmp_path: Path, queue: str, address: str
) -> dict[str, str]:
    policies = write_policies(
        tmp_path / "policies", {"m365-account-takeover": takeover_policy("passive")}
    )
    return {
        **worker_env(env, tenant, tmp_path / "data", policies, queue),
        "RIPOSTE_METRICS_ADDRESS": address,
    }


async def test_worker_started_from_the_environment_serves_both_kinds_of_metrics(
    temporal_env: WorkflowEnvironment, tenant: TenantSettings, tmp_path: Path, address: str
) -> None:
    """`python worker.py` with RIPOSTE_METRICS_ADDRESS serves Temporal's runtime metrics and,
    after a passive response, Riposte's action counts on the same endpoint."""
    queue = f"metrics-{uuid.uuid4()}"
    log = tmp_path / "worker.log"
    worker = start_worker(metered_worker_env(temporal_env, tenant, tmp_path, queue, address), log)
    try:
        service = ResponseService(temporal_env.client, queue)
        rid = (await service.submit(takeover_alert())).response_id
        await wait_for(service, rid, all_in(ActionState.SIMULATED), within=90)
        samples: Samples = {}
        samples = await eventually(
            lambda: scrape(address),
            until=lambda s: bool(value(s, ACTIONS, action="quarantine_mail", outcome="simulated")),
            within=10,
            what="the simulated quarantine in the worker's metrics",
        )
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    names = {name for name, _ in samples}
    assert any(name.startswith("temporal_") for name in names), log.read_text()[-2000:]
    for action in ("disable_sign_in", "revoke_sessions", "delete_inbox_rules", "quarantine_mail"):
        assert value(samples, ACTIONS, action=action, outcome="simulated") == 1, action
    assert value(samples, AUDIT_EVENTS, kind="alert_received") == 1
    assert value(samples, REVERT_BACKLOG) == 0
