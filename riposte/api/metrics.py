"""Prometheus metrics: intake counted as it happens, the engine's work read from the audit trail.

Responses and actions run in workers, not here, so their counts come from the one record every
replica shares: at each scrape the API reads the audit events it has not seen yet. A fresh process
starts from the first event, so the counts cover the whole trail, not only this process's life.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from riposte.audit.events import AuditEvent, AuditFilter, AuditKind
from riposte.audit.store import AuditStore

__all__ = ["CONTENT_TYPE", "Metrics"]

_PAGE = 1000
_ACTION_OUTCOMES = frozenset(
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
MAX_SOURCES = 32
"""Distinct `source` label values kept; later ones count as "other" (a sender picks the
source, and each new value would otherwise add series to every scrape, forever)."""
OTHER = "other"
_WAIT_BUCKETS = (10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600)


class BoundedLabel:
    """The first `limit` distinct values of a label as themselves, every later one as "other"."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit:
            return OTHER
        self._seen.add(value)
        return value


class Metrics:
    """One app's metrics, in a registry of their own (so several apps can live in one process)."""

    def __init__(self, max_sources: int = MAX_SOURCES) -> None:
        self.source = BoundedLabel(max_sources)
        self.registry = CollectorRegistry()
        r = self.registry
        self.alerts_received = Counter(
            "riposte_alerts_received", "Alerts accepted as new responses", ["source"], registry=r
        )
        self.alerts_duplicate = Counter(
            "riposte_alerts_duplicate",
            "Alerts that joined an existing response",
            ["source"],
            registry=r,
        )
        self.alerts_refused = Counter(
            "riposte_alerts_refused", "Alerts refused at intake, by reason", ["reason"], registry=r
        )
        self.denied = Counter(
            "riposte_api_denied", "Requests refused for credentials or role", ["status"], registry=r
        )
        self.responses = Counter(
            "riposte_responses",
            "Responses by outcome of policy evaluation (matched or no_match), from the audit trail",
            ["outcome"],
            registry=r,
        )
        self.actions = Counter(
            "riposte_actions",
            "Action events by action and outcome (the audit kind), from the audit trail",
            ["action", "outcome"],
            registry=r,
        )
        self.approval_wait = Histogram(
            "riposte_approval_wait_seconds",
            "Time from an approval request to its decision or expiry, from the audit trail",
            ["decision"],
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self._after_seq = 0
        self._requested: dict[str, datetime] = {}
        self._matched: OrderedDict[str, None] = OrderedDict()  # recent responses counted matched
        self._lock = asyncio.Lock()

    async def render(self, store: AuditStore) -> bytes:
        """The exposition text, after catching up with the audit trail."""
        async with self._lock:
            while True:
                page = await asyncio.to_thread(
                    store.query, AuditFilter(after_seq=self._after_seq, limit=_PAGE)
                )
                self.follow(page)
                if len(page) < _PAGE:
                    break
        return generate_latest(self.registry)

    def follow(self, events: Sequence[AuditEvent]) -> None:
        """Count audit events the metrics have not seen yet."""
        for event in events:
            self._after_seq = max(self._after_seq, event.seq)
            if event.kind is AuditKind.NO_MATCH:
                self.responses.labels("no_match").inc()
            elif event.kind is AuditKind.POLICY_MATCHED:
                self._count_matched(event.response_id)
            if event.kind in _ACTION_OUTCOMES and event.action:
                self.actions.labels(event.action, event.kind.value).inc()
            if event.kind is AuditKind.APPROVAL_REQUESTED:
                self._requested[event.action_id] = event.time
            elif event.kind in _DECISIONS and event.action_id in self._requested:
                asked = self._requested.pop(event.action_id)
                wait = max(0.0, (event.time - asked).total_seconds())
                self.approval_wait.labels(event.kind.value).observe(wait)

    def _count_matched(self, response_id: str) -> None:
        # A response that matched several policies has one policy_matched event for each.
        if response_id in self._matched:
            return
        self._matched[response_id] = None
        if len(self._matched) > 10_000:
            self._matched.popitem(last=False)
        self.responses.labels("matched").inc()
