"""Refused requests, folded: one `denied` audit event per source address and actor per window,
with a count, and a 429 for a source refused too often.

A flood of unauthenticated requests must not become a flood of audit rows (nor of log lines):
each refusal is counted in memory, and when its window ends the count is written as one event,
with the first refusal's method, path (cut to 256 characters) and reason and the counts by
status. A source refused `denied_limit` times without credentials that hold in one window is
answered 429 without another look at its credentials until the window ends (still counted).
Memory is bounded: past `MAX_SOURCES` sources in one window, the rest are counted as one.

Windows are flushed by a task of their own (started with the first refusal, ended when nothing
is pending) and by `close()` at shutdown, so no lifespan hook is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from riposte.audit.events import AuditKind, AuditRecord
from riposte.audit.store import AuditStore
from riposte.errors import RiposteError

log = structlog.get_logger("riposte.api")

PATH_MAX = 256
REASON_MAX = 256
MAX_SOURCES = 10_000
OVERFLOW = "(other sources)"
UNAUTHENTICATED = frozenset({401, 429})


def cut(text: str, limit: int = PATH_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Fold:
    """One source's refusals in one window."""

    first: str  # "401 no credentials: GET /path"
    path: str
    count: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


class Denials:
    """The API's refusals, counted per (window, source, actor) and audited once per window."""

    def __init__(
        self,
        store: AuditStore,
        window_seconds: int,
        limit: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._window = window_seconds
        self._limit = limit
        self._clock = clock
        self._instance = secrets.token_hex(4)  # API replicas write events of their own
        self._folds: dict[tuple[int, str, str], _Fold] = {}
        self._per_client: Counter[tuple[int, str]] = Counter()  # this window's, by source
        self._flusher: asyncio.Task[None] | None = None

    def _slot(self) -> int:
        return int(self._clock().timestamp()) // self._window

    def limited(self, client: str) -> bool:
        """True when `client` was refused more than the limit in this window."""
        return self._per_client[(self._slot(), client)] >= self._limit

    def record(
        self, client: str, actor: str, status: int, reason: str, method: str, path: str
    ) -> None:
        """Count one refusal; its window is audited once it ends."""
        slot = self._slot()
        if (slot, client) not in self._per_client and len(self._per_client) >= MAX_SOURCES:
            client = OVERFLOW
        if status in UNAUTHENTICATED:  # a known principal's refusals never slow its address
            self._per_client[(slot, client)] += 1
        key = (slot, client, actor)
        fold = self._folds.get(key)
        if fold is None:
            short = cut(path)
            first = f"{status} {cut(reason, REASON_MAX)}: {method} {short}"
            fold = self._folds[key] = _Fold(first=first, path=short)
            log.warning("api.denied", status=status, path=short, actor=actor, client=client)
        fold.count += 1
        fold.statuses[status] += 1
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_when_due())

    async def _flush_when_due(self) -> None:
        while self._folds:
            ends = (min(s for s, _, _ in self._folds) + 1) * self._window
            wait = ends - self._clock().timestamp()
            if wait > 0:
                await asyncio.sleep(min(wait + 0.05, self._window))
            await self.flush(only_closed=True)

    def drain(self, *, only_closed: bool = False) -> list[AuditRecord]:
        """The events of every window that has ended (or of all), forgetting them."""
        slot = self._slot()
        due = [k for k in self._folds if not only_closed or k[0] < slot]
        for stale in [k for k in self._per_client if not only_closed or k[0] < slot]:
            del self._per_client[stale]
        return [self._event(key, self._folds.pop(key)) for key in sorted(due)]

    async def close(self) -> None:
        """At shutdown: stop the flusher, and audit the windows still open."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    async def flush(self, *, only_closed: bool = False) -> int:
        """Audit every window that has ended (or all, at shutdown); returns the events written."""
        records = self.drain(only_closed=only_closed)
        if not records:
            return 0
        try:
            await asyncio.to_thread(self._store.append, records)
        except RiposteError as err:
            log.error("api.denied_not_audited", error=str(err), events=len(records))
        return len(records)

    def _event(self, key: tuple[int, str, str], fold: _Fold) -> AuditRecord:
        slot, client, actor = key
        start = datetime.fromtimestamp(slot * self._window, UTC)
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(fold.statuses.items()))
        detail = (
            f"{fold.count} refused from {client} in {self._window}s ({statuses}); "
            f"first: {fold.first}"
        )
        return AuditRecord(
            id=f"denied:{self._instance}:{slot}:{client}:{actor}",
            time=min(start + timedelta(seconds=self._window), self._clock()),
            kind=AuditKind.DENIED,
            target=fold.path,
            actor=actor,
            detail=detail,
        )
