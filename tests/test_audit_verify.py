"""`verify` finds every edited, deleted and reordered event, on both backends.

Tampering needs the append-only triggers out of the way: on SQLite the test edits a copy of the
store file with its triggers dropped; on PostgreSQL it disables the triggers for the tamper.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import psycopg
import pytest

from riposte.audit import chain
from riposte.audit.events import AuditFilter
from riposte.audit.store import AuditStore, open_store
from tests.plugins.audit import record, records

SQLITE_PREFIX = "sqlite:///"
GUARDED = ("audit_events", "audit_head", "audit_keying")


def tampered(url: str, copy_to: Path, *statements: str) -> str:
    """Run `statements` against the store with its guards off; returns the tampered store's URL."""
    if url.startswith(SQLITE_PREFIX):
        copy = copy_to / "tampered-audit.db"
        with sqlite3.connect(url.removeprefix(SQLITE_PREFIX)) as source:
            source.execute("VACUUM INTO ?", (str(copy),))
        raw = sqlite3.connect(copy, isolation_level=None)
        try:
            triggers = raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            for (name,) in triggers.fetchall():
                raw.execute(f'DROP TRIGGER "{name}"')
            for statement in statements:
                raw.execute(statement)
        finally:
            raw.close()
        return f"{SQLITE_PREFIX}{copy}"
    with psycopg.connect(url) as conn:
        for table in GUARDED:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER".encode())
        for statement in statements:
            conn.execute(statement.encode())
        for table in GUARDED:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER".encode())
    return url


@pytest.fixture
def five(audit_url: str) -> str:
    """A store holding five events, closed again; its URL."""
    store = open_store(audit_url)
    store.append(records(5))
    store.close()
    return audit_url


def problems_in(url: str) -> tuple[bool, int, tuple[str, ...]]:
    store = open_store(url)
    try:
        result = store.verify()
    finally:
        store.close()
    return result.ok, result.events, result.problems


def test_an_intact_chain_verifies(audit_store: AuditStore) -> None:
    """A chain written only through the store verifies, counts its events and names its head."""
    events = audit_store.append(records(7))
    result = audit_store.verify()
    assert result.ok
    assert result.events == 7
    assert result.problems == ()
    assert result.head == events[-1].hash


def test_an_empty_store_verifies(audit_store: AuditStore) -> None:
    """A store with no events verifies, with zero events."""
    result = audit_store.verify()
    assert (result.ok, result.events) == (True, 0)


def test_an_edited_event_is_caught(five: str, tmp_path: Path) -> None:
    """Changing one field of one event breaks its hash, and verify names that seq."""
    url = tampered(
        five, tmp_path, "UPDATE audit_events SET target = 'eve@contoso.com' WHERE seq = 3"
    )
    ok, events, problems = problems_in(url)
    assert not ok
    assert events == 5
    assert problems == ("seq 3: hash does not match its content (edited or moved)",)


def test_an_edited_time_is_caught(five: str, tmp_path: Path) -> None:
    """Back-dating an event is an edit like any other."""
    url = tampered(
        five, tmp_path, "UPDATE audit_events SET time = '2021-06-09T08:00:00.000000Z' WHERE seq = 1"
    )
    ok, _, problems = problems_in(url)
    assert not ok
    assert problems[0].startswith("seq 1: hash does not match")


def test_a_deleted_event_is_caught(five: str, tmp_path: Path) -> None:
    """Deleting an event from the middle leaves a gap and a broken link at the next seq."""
    url = tampered(five, tmp_path, "DELETE FROM audit_events WHERE seq = 2")
    ok, events, problems = problems_in(url)
    assert not ok
    assert events == 4
    assert problems == (
        "seq 2: missing (deleted, or moved out of place)",
        "seq 3: prev_hash does not match the hash of seq 1 (deleted or reordered)",
    )


def test_a_deleted_last_event_is_caught(five: str, tmp_path: Path) -> None:
    """Deleting the newest event is caught by the chain head the store keeps."""
    url = tampered(five, tmp_path, "DELETE FROM audit_events WHERE seq = 5")
    ok, events, problems = problems_in(url)
    assert not ok
    assert events == 4
    assert problems == ("seq 5: missing; the chain head records 5 events",)


def test_a_reordered_pair_is_caught(five: str, tmp_path: Path) -> None:
    """Swapping the places of two events breaks both their hashes and their links."""
    url = tampered(
        five,
        tmp_path,
        "UPDATE audit_events SET seq = -1 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = 4",
        "UPDATE audit_events SET seq = 4 WHERE seq = -1",
    )
    ok, events, problems = problems_in(url)
    assert not ok
    assert events == 5
    assert "seq 3: prev_hash does not match the hash of seq 2 (deleted or reordered)" in problems
    assert "seq 3: hash does not match its content (edited or moved)" in problems
    assert "seq 4: hash does not match its content (edited or moved)" in problems
    assert all(p.startswith(("seq 3:", "seq 4:", "seq 5:")) for p in problems)


def test_a_rehashed_edit_is_caught_by_the_next_link(five: str, tmp_path: Path) -> None:
    """An edit whose hash is recomputed still breaks the following event's prev_hash."""
    store = open_store(five)
    (third,) = store.query(AuditFilter(after_seq=2, limit=1))
    store.close()
    forged = third.model_copy(update={"target": "eve@contoso.com"})
    new_hash = chain.content_hash(chain.row_of(forged))
    url = tampered(
        five,
        tmp_path,
        f"UPDATE audit_events SET target = 'eve@contoso.com', hash = '{new_hash}' WHERE seq = 3",
    )
    ok, _, problems = problems_in(url)
    assert not ok
    assert problems == ("seq 4: prev_hash does not match the hash of seq 3 (deleted or reordered)",)


def test_an_event_slipped_in_past_the_head_is_caught(five: str, tmp_path: Path) -> None:
    """A row inserted behind the store's back, even with a valid hash, is past the chain head."""
    store = open_store(five)
    last = store.query(AuditFilter(after_seq=4))[0]
    store.close()
    forged = chain.seal(record(99), 6, last.hash)
    row = chain.row_of(forged)
    values = ", ".join(
        f"'{row[c]}'" if isinstance(row[c], str) else str(row[c]) for c in chain.COLUMNS
    )
    url = tampered(
        five, tmp_path, f"INSERT INTO audit_events ({', '.join(chain.COLUMNS)}) VALUES ({values})"
    )
    ok, events, problems = problems_in(url)
    assert not ok
    assert events == 6
    assert problems == ("seq 6: events past the chain head (seq 5) were not appended by the store",)


def test_the_original_is_untouched_by_tampering_with_a_copy(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Tampering with a copy of a SQLite store leaves the original verifying."""
    store = open_store(sqlite_url)
    store.append(records(3))
    tampered(sqlite_url, tmp_path, "DELETE FROM audit_events WHERE seq = 1")
    try:
        assert store.verify().ok
    finally:
        store.close()


def test_the_hash_follows_the_documented_recipe(audit_store: AuditStore) -> None:
    """An event's hash is sha256(prev_hash + sorted compact JSON of every field but hash, an
    empty incident_id left out)."""
    first, second = audit_store.append(records(2))
    body = second.model_dump(mode="json", exclude={"hash", "incident_id"})
    body["time"] = "2021-06-09T09:01:00.000000Z"
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    expected = hashlib.sha256((first.hash + canonical).encode()).hexdigest()
    assert second.hash == expected
    assert first.prev_hash == "0" * 64


def test_the_chain_covers_every_field_of_an_event() -> None:
    """Every stored field but the hash itself is sealed, so a new field cannot escape the chain."""
    assert set(chain.CHAINED) == set(chain.COLUMNS) - {"hash"}
    assert {"seq", "prev_hash", "time", "kind", "actor", "detail"} <= set(chain.CHAINED)
