"""Audit append throughput: events per second into SQLite and PostgreSQL, one store, one thread.

    .venv/bin/python bench/audit_append.py [--events N] [--postgres URL_OF_ADMIN_DB]

Appends N events one per transaction (how the workflow writes them), then N in batches of 10,
then verifies the chain, and prints one JSON line per backend. PostgreSQL gets a throwaway
database on the admin URL's server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from riposte.audit.events import AuditKind, AuditRecord
from riposte.audit.store import open_store


def _records(prefix: str, count: int) -> list[AuditRecord]:
    now = datetime.now(UTC)
    return [
        AuditRecord(
            id=f"{prefix}-{n}",
            time=now,
            kind=AuditKind.EXECUTED,
            response_id=f"darktrace:dt-{n // 4}",
            action="block_ports",
            target="10.8.0.25",
            mode="autonomous",
            detail="added NSG rule riposte-block-445-9401 to nsg-vpn",
        )
        for n in range(count)
    ]


def measure(url: str, events: int) -> dict[str, object]:
    store = open_store(url)
    try:
        singles = _records("single", events)
        started = time.perf_counter()
        for item in singles:
            store.append([item])
        single_rate = events / (time.perf_counter() - started)

        batched = _records("batch", events)
        started = time.perf_counter()
        for start in range(0, events, 10):
            store.append(batched[start : start + 10])
        batch_rate = events / (time.perf_counter() - started)

        started = time.perf_counter()
        result = store.verify()
        verify_rate = result.events / (time.perf_counter() - started)
    finally:
        store.close()
    return {
        "backend": url.partition(":")[0],
        "appends_per_s": round(single_rate),
        "events_per_s_in_batches_of_10": round(batch_rate),
        "verify_events_per_s": round(verify_rate),
        "verified": result.ok,
    }


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    name = f"riposte_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(measure(f"sqlite:///{Path(folder) / 'audit.db'}", args.events)))
    with scratch_database(args.postgres) as url:
        print(json.dumps(measure(url, args.events)))


if __name__ == "__main__":
    main()
