"""Writers in several processes extend one unbroken chain, with no event written twice."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier

from riposte.audit.events import AuditFilter, AuditKind, AuditRecord
from riposte.audit.store import open_store
from tests.plugins.audit import START

PROCESSES = 4
EVENTS_EACH = 50
SHARED = 10  # ids every process writes: retried writes racing each other


def _write(url: str, worker: int, start: Barrier) -> None:
    """One writer process: its own events one at a time, plus the shared ids, in small batches."""
    store = open_store(url)
    try:
        start.wait(timeout=60)
        for n in range(EVENTS_EACH):
            store.append([_event(f"w{worker}-{n}", worker)])
            if n % 5 == 0:
                shared = n // 5
                store.append(
                    [_event(f"shared-{shared}", worker), _event(f"w{worker}-b{n}", worker)]
                )
    finally:
        store.close()


def _event(event_id: str, worker: int) -> AuditRecord:
    return AuditRecord(id=event_id, time=START, kind=AuditKind.EXECUTED, detail=f"worker {worker}")


def test_concurrent_writers_produce_one_chain(audit_url: str) -> None:
    """4 processes creating and appending at once leave exactly the expected events, verifying."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    writers = [
        context.Process(target=_write, args=(audit_url, worker, start))
        for worker in range(PROCESSES)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=240)
    assert [writer.exitcode for writer in writers] == [0] * PROCESSES

    audit_store = open_store(audit_url)
    try:
        events = audit_store.query(AuditFilter())
        result = audit_store.verify()
    finally:
        audit_store.close()
    expected = PROCESSES * (EVENTS_EACH + EVENTS_EACH // 5) + SHARED
    assert len(events) == expected
    assert [e.seq for e in events] == list(range(1, expected + 1))
    assert len({e.id for e in events}) == expected
    assert sum(e.id.startswith("shared-") for e in events) == SHARED
    assert (result.ok, result.events, result.problems) == (True, expected, ())
