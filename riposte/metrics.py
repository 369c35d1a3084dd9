"""Worker metrics for Prometheus: Temporal's runtime metrics and Riposte's own, on one endpoint.

    start_worker_metrics(settings)                  # at the entry point, before connect()
    store = metered_store(open_store(url), client)  # run_worker: count what record_audit writes

With `metrics_address` set, the process's Temporal runtime serves `http://ADDRESS/metrics`: the
SDK's own metrics (`temporal_*`: task slots, poll and schedule-to-start latencies, activity and
workflow task failures) and these:

    riposte_worker_audit_events{kind}               counter    audit events this worker wrote
    riposte_worker_actions{action,outcome}          counter    action events by action and
                                                               outcome (the audit kind)
    riposte_worker_approval_wait_seconds{decision}  histogram  approval request to decision
    riposte_revert_backlog                          gauge      reversible actions executed and
                                                               neither reverted nor released

Counting happens where every event passes: the audit store that the `record_audit` activity
writes to. Workflow code counts nothing (a workflow has no side effects, and replays). Counters
are per worker, so sum them across workers; a write retried after an attempt that had already
landed can count once more. The backlog is read from the whole trail, so every worker reports
the same value: take the max.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import structlog
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from riposte.actions.catalogue import CATALOGUE
from riposte.actions.payloads import ActionName
from riposte.audit.checkpoint import Checkpoint
from riposte.audit.events import AuditEvent, AuditFilter, AuditKind, AuditRecord, VerifyResult
from riposte.audit.store import AuditStore
from riposte.errors import InvalidInput, Unavailable
from riposte.settings import Settings

AUDIT_EVENTS = "riposte_worker_audit_events"
ACTIONS = "riposte_worker_actions"
APPROVAL_WAIT = "riposte_worker_approval_wait_seconds"
REVERT_BACKLOG = "riposte_revert_backlog"
WAIT_BUCKETS = (10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0)
PAGE = 2000

_ACTION_KINDS = frozenset(
    {
        AuditKind.EXCLUDED,
        AuditKind.APPROVAL_REQUESTED,
        AuditKind.APPROVED,
        AuditKind.REJECTED,
        AuditKind.APPROVAL_EXPIRED,
        AuditKind.SIMULATED,
        AuditKind.EXECUTED,
        AuditKind.FAILED,
        AuditKind.REVERTED,
        AuditKind.RELEASED,
        AuditKind.BUDGET_EXCEEDED,
    }
)
_DECISIONS = frozenset({AuditKind.APPROVED, AuditKind.REJECTED, AuditKind.APPROVAL_EXPIRED})
_BACKLOG_KINDS = frozenset({AuditKind.EXECUTED, AuditKind.REVERTED, AuditKind.RELEASED})

log = structlog.get_logger("riposte.metrics")


def start_worker_metrics(settings: Settings) -> Runtime | None:
    """Serve Prometheus metrics at `settings.metrics_address` (None: do nothing).

    Makes a runtime with a Prometheus exporter the process's default Temporal runtime, so call
    it before the worker's client connects: that client, its worker and `metered_store` then
    report on it.
    """
    if settings.metrics_address is None:
        return None
    runtime = worker_runtime(settings.metrics_address)
    Runtime.set_default(runtime, error_if_already_set=False)
    log.info("metrics served", address=settings.metrics_address)
    return runtime


def worker_runtime(address: str) -> Runtime:
    """A Temporal runtime serving its metrics, and Riposte's, at http://ADDRESS/metrics."""
    _check_address(address)
    config = PrometheusConfig(
        bind_address=address, histogram_bucket_overrides={APPROVAL_WAIT: WAIT_BUCKETS}
    )
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=config))
    except ValueError as err:  # the exporter could not bind
        raise Unavailable(f"cannot serve metrics on {address}: {err}") from err


def metered_store(store: AuditStore, client: Client) -> AuditStore:
    """`store`, counting what is appended on the metrics of `client`'s runtime; `store` itself
    when that runtime exports no metrics."""
    runtime = client.service_client.config.runtime or Runtime.default()
    if runtime.metric_meter is MetricMeter.noop:
        return store
    return MeteredStore(store, WorkerMetrics(runtime.metric_meter))


class WorkerMetrics:
    """Riposte's instruments, on one Temporal metric meter."""

    def __init__(self, meter: MetricMeter) -> None:
        self.audit_events = meter.create_counter(
            AUDIT_EVENTS, "Audit events written by this worker, by kind"
        )
        self.actions = meter.create_counter(
            ACTIONS, "Action events written by this worker, by action and outcome (audit kind)"
        )
        self.approval_wait = meter.create_histogram_float(
            APPROVAL_WAIT, "Seconds from an approval request to its decision or expiry", "s"
        )
        self.revert_backlog = meter.create_gauge(
            REVERT_BACKLOG,
            "Reversible actions executed and neither reverted nor released (whole audit trail)",
        )

    def count(self, event: AuditEvent) -> None:
        self.audit_events.add(1, {"kind": event.kind.value})
        if event.kind in _ACTION_KINDS and event.action:
            self.actions.add(1, {"action": event.action, "outcome": event.kind.value})


class RevertBacklog:
    """Follows the trail by seq: which reversible actions are executed and not yet undone."""

    def __init__(self) -> None:
        self.after_seq = 0
        self.open: set[str] = set()

    def follow(self, events: Iterable[AuditEvent]) -> None:
        for event in events:
            self.after_seq = max(self.after_seq, event.seq)
            if event.kind is AuditKind.EXECUTED and _reversible(event.action):
                self.open.add(event.action_id)
            elif event.kind in (AuditKind.REVERTED, AuditKind.RELEASED):
                self.open.discard(event.action_id)

    def catch_up(self, store: AuditStore) -> int:
        """Read the events appended since the last call; the backlog's size after them."""
        while True:
            page = store.query(AuditFilter(after_seq=self.after_seq, limit=PAGE))
            self.follow(page)
            if len(page) < PAGE:
                return len(self.open)


class MeteredStore:
    """An `AuditStore` that counts every event appended through it (see the module docstring).

    Metrics never fail a write: when the store cannot be read for them, the write still stands
    and a warning is logged.
    """

    def __init__(self, store: AuditStore, metrics: WorkerMetrics) -> None:
        self._store = store
        self._metrics = metrics
        self._backlog = RevertBacklog()
        self._lock = threading.Lock()
        self._refresh_backlog()

    def append(self, records: Sequence[AuditRecord]) -> list[AuditEvent]:
        events = self._store.append(records)
        try:
            self._observe(events)
        except Unavailable as err:
            log.warning("metrics could not read the audit store", error=str(err))
        return events

    def query(self, f: AuditFilter) -> list[AuditEvent]:
        return self._store.query(f)

    def verify(self, checkpoint: Checkpoint | None = None) -> VerifyResult:
        return self._store.verify(checkpoint)

    def close(self) -> None:
        self._store.close()

    def _observe(self, events: Sequence[AuditEvent]) -> None:
        for event in events:
            self._metrics.count(event)
            if event.kind in _DECISIONS:
                self._observe_wait(event)
        if any(event.kind in _BACKLOG_KINDS for event in events):
            self._refresh_backlog()

    def _observe_wait(self, decision: AuditEvent) -> None:
        asked = self._store.query(
            AuditFilter(response_id=decision.response_id, kind=AuditKind.APPROVAL_REQUESTED)
        )
        for request in asked:
            if request.action_id == decision.action_id:
                wait = max(0.0, (decision.time - request.time).total_seconds())
                self._metrics.approval_wait.record(wait, {"decision": decision.kind.value})
                return

    def _refresh_backlog(self) -> None:
        with self._lock:
            self._metrics.revert_backlog.set(self._backlog.catch_up(self._store))


def _reversible(action: str) -> bool:
    try:
        return CATALOGUE[ActionName(action)].reversible
    except ValueError:
        return False


def _check_address(address: str) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(
            f"metrics address {address!r}: expected HOST:PORT, e.g. 0.0.0.0:9464",
            location="metrics_address",
        )
