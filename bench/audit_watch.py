"""Watch the audit store for the events that end a measured response.

A response whose reversible actions have no duration holds them until released, so its
workflow never ends by itself: the bench counts it as done when the audit holds one event of
the wanted kind (`executed`, `approval_requested`) per action. While anyone waits, one task
reads new events every `interval` seconds, in seq order: one small SQLite query per interval
however many responses are in flight, and a response is seen done at most `interval` late.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from pathlib import Path
from types import TracebackType

from riposte.audit.events import AuditFilter, AuditKind
from riposte.audit.store import open_store


class AuditWatch:
    def __init__(self, db: Path, kind: AuditKind, interval: float = 0.05) -> None:
        self._store = open_store(f"sqlite:///{db}")
        self._kind = kind
        self._interval = interval
        self._after = 0
        self.counts: Counter[str] = Counter()  # events seen, by response id
        self._waiters: dict[str, tuple[int, asyncio.Future[float]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._total = 0
        self._total_seen = asyncio.Event()

    async def __aenter__(self) -> AuditWatch:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
        self._store.close()

    async def reached(self, response_id: str, count: int, within: float) -> float | None:
        """When the response had `count` events of the kind (time.time()), or None if it did
        not within `within` seconds."""
        if self.counts[response_id] >= count:
            return time.time()
        done = asyncio.get_running_loop().create_future()
        self._waiters[response_id] = (count, done)
        try:
            return await asyncio.wait_for(done, within)
        except TimeoutError:
            return None
        finally:
            self._waiters.pop(response_id, None)

    async def total_reached(self, total: int, within: float) -> int:
        """Wait until `total` events of the kind have been seen, or `within` seconds; the count."""
        if self.counts.total() >= total:
            return self.counts.total()
        self._total = total
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._total_seen.wait(), within)
        return self.counts.total()

    async def _watch(self) -> None:
        while True:
            if not self._waiters and not self._total:  # nobody waits: read later, all at once
                await asyncio.sleep(self._interval)
                continue
            wanted = AuditFilter(kind=self._kind, after_seq=self._after)
            found = await asyncio.to_thread(self._store.query, wanted)
            now = time.time()
            for event in found:
                self._after = event.seq
                self.counts[event.response_id] += 1
                waiter = self._waiters.get(event.response_id)
                count = self.counts[event.response_id]
                if waiter and count >= waiter[0] and not waiter[1].done():
                    waiter[1].set_result(now)
            if self._total and self.counts.total() >= self._total:
                self._total_seen.set()
            await asyncio.sleep(self._interval)
