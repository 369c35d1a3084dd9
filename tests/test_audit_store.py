"""The audit store's promises, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from riposte.audit import chain
from riposte.audit.events import AuditFilter, AuditKind, AuditRecord
from riposte.audit.sqlite import SqliteStore
from riposte.audit.store import AuditStore, UnsupportedStoreUrl, open_store
from riposte.errors import InvalidInput, Unavailable
from tests.plugins.audit import START, login_role, record, records


def test_append_assigns_contiguous_seqs_and_links_the_chain(audit_store: AuditStore) -> None:
    """Appended events get seq 1, 2, 3... and each one's prev_hash is the previous one's hash."""
    first = audit_store.append(records(3))
    second = audit_store.append(records(2, start=3))
    events = first + second
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == chain.GENESIS_HASH
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash
    assert audit_store.query(AuditFilter()) == events


def test_append_is_idempotent_by_record_id(audit_store: AuditStore) -> None:
    """A record whose id is stored is not written again; the stored event comes back instead."""
    stored = audit_store.append(records(3))
    retried = record(1, detail="a retry with other text")
    again = audit_store.append([retried, record(3), record(3)])
    assert again[0] == stored[1]
    assert again[0].detail == "event 1"
    assert again[1].seq == 4
    assert again[2] == again[1]
    assert len(audit_store.query(AuditFilter())) == 4
    assert audit_store.verify().ok


def test_stored_events_keep_every_field(audit_store: AuditStore) -> None:
    """What comes back from the store equals what was written, field by field, as UTC."""
    original = record(7, detail="would delete 2 of 5 inbox rules: '.', 'RSS Feeds' — ünïcode")
    (event,) = audit_store.append([original])
    (read,) = audit_store.query(AuditFilter())
    assert read == event
    assert read.model_dump(exclude={"seq", "prev_hash", "hash"}) == original.model_dump()
    assert read.time.utcoffset() == timedelta(0)


def test_text_a_database_cannot_hold_is_kept_as_replacement_characters(
    audit_store: AuditStore,
) -> None:
    """NUL and lone surrogates in attacker text are stored as U+FFFD instead of failing."""
    audit_store.append([record(0, detail="rule\x00name \ud800")])
    (read,) = audit_store.query(AuditFilter())
    assert read.detail == "rule\ufffdname \ufffd"
    assert audit_store.verify().ok


def test_filters_narrow_by_every_field(audit_store: AuditStore) -> None:
    """Each filter keeps only the events that match it, and filters combine with AND."""
    audit_store.append(records(12))

    def seqs(**fields: object) -> list[int]:
        return [e.seq for e in audit_store.query(AuditFilter.model_validate(fields))]

    assert seqs(target="10.8.0.25") == [2, 5, 8, 11]
    assert seqs(action="disable_sign_in") == [1, 4, 7, 10]
    assert seqs(actor="soc.admin") == [3, 6, 9, 12]
    assert seqs(policy="network-lateral-movement") == [2, 4, 6, 8, 10, 12]
    assert seqs(kind=AuditKind.EXECUTED) == [2, 5, 8, 11]
    assert seqs(response_id="darktrace:dt-1") == [4, 5, 6]
    assert seqs(since=START + timedelta(minutes=3), until=START + timedelta(minutes=6)) == [4, 5, 6]
    assert seqs(kind=AuditKind.EXECUTED, policy="m365-account-takeover") == [5, 11]
    assert seqs(target="nobody@contoso.com") == []


def test_time_filters_compare_instants_whatever_the_offset(audit_store: AuditStore) -> None:
    """A since given with a +02:00 offset means the same instant as its UTC form."""
    audit_store.append(records(5))
    paris = START.astimezone(ZoneInfo("Europe/Paris"))
    since = paris + timedelta(minutes=2)
    assert [e.seq for e in audit_store.query(AuditFilter(since=since))] == [3, 4, 5]


def test_pagination_walks_every_event_once(audit_store: AuditStore) -> None:
    """Pages of `limit` events after the last seen seq cover the trail exactly once, in order."""
    audit_store.append(records(23))
    seen: list[int] = []
    while page := audit_store.query(AuditFilter(after_seq=seen[-1] if seen else 0, limit=5)):
        assert len(page) <= 5
        seen += [e.seq for e in page]
    assert seen == list(range(1, 24))


def test_negative_limits_are_refused(audit_store: AuditStore) -> None:
    """A negative limit is bad input, not "no limit"."""
    with pytest.raises(InvalidInput):
        audit_store.query(AuditFilter(limit=-1))


def test_a_record_without_an_id_is_refused(audit_store: AuditStore) -> None:
    """An empty id could never be deduplicated, so the store refuses it and writes nothing."""
    with pytest.raises(InvalidInput):
        audit_store.append([record(0), record(1, id="")])
    assert audit_store.query(AuditFilter()) == []


def test_events_survive_reopening(audit_url: str) -> None:
    """A closed and reopened store keeps its events and extends the same chain."""
    store = open_store(audit_url)
    store.append(records(2))
    store.close()
    store = open_store(audit_url)
    try:
        (third,) = store.append([record(2)])
        assert third.seq == 3
        assert store.verify().ok
        assert store.verify().events == 3
    finally:
        store.close()


def test_sqlite_refuses_to_update_or_delete_events(sqlite_store: SqliteStore) -> None:
    """The SQLite triggers refuse UPDATE and DELETE on events and moving the head backwards."""
    sqlite_store.append(records(2))
    with sqlite3.connect(sqlite_store.path) as raw:
        for statement in (
            "UPDATE audit_events SET detail = 'edited' WHERE seq = 1",
            "DELETE FROM audit_events WHERE seq = 2",
            "UPDATE audit_head SET seq = 1",
            "DELETE FROM audit_head",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                raw.execute(statement)
    assert [e.detail for e in sqlite_store.query(AuditFilter())] == ["event 0", "event 1"]


def test_postgres_refuses_to_update_delete_or_truncate_events(postgres_url: str) -> None:
    """The PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE, even for the table owner."""
    store = open_store(postgres_url)
    try:
        store.append(records(2))
        with psycopg.connect(postgres_url, autocommit=True) as raw:
            for statement in (
                "UPDATE audit_events SET detail = 'edited' WHERE seq = 1",
                "DELETE FROM audit_events WHERE seq = 2",
                "TRUNCATE audit_events",
                "UPDATE audit_head SET seq = 1",
                "DELETE FROM audit_head",
            ):
                with pytest.raises(psycopg.errors.IntegrityConstraintViolation):
                    raw.execute(statement)
        assert [e.detail for e in store.query(AuditFilter())] == ["event 0", "event 1"]
    finally:
        store.close()


def test_sqlite_store_creates_its_folder(tmp_path: Path) -> None:
    """Opening a SQLite URL whose folder does not exist creates the folder and the file."""
    path = tmp_path / "new" / "nested" / "audit.db"
    store = open_store(f"sqlite:///{path}")
    store.close()
    assert path.is_file()


def test_unknown_url_schemes_are_refused() -> None:
    """A URL no backend serves is bad input that names the scheme."""
    with pytest.raises(UnsupportedStoreUrl, match="mysql"):
        open_store("mysql://root@localhost/audit")


def test_an_audit_record_round_trips_through_json() -> None:
    """The record a workflow sends survives the JSON a Temporal payload carries."""
    original = record(4)
    assert AuditRecord.model_validate_json(original.model_dump_json()) == original


def test_postgres_store_reconnects_after_its_connection_is_killed(postgres_url: str) -> None:
    """A dropped connection fails one append as Unavailable (retryable); the next one reconnects."""
    store = open_store(postgres_url)
    try:
        store.append(records(1))
        database = postgres_url.rsplit("/", 1)[1]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        assert killed == [(True,)]
        with pytest.raises(Unavailable):
            store.append([record(1)])
        (event,) = store.append([record(1)])
        assert event.seq == 2
        assert store.verify().ok
    finally:
        store.close()


def test_postgres_writer_role_needs_only_the_documented_grants(postgres_url: str) -> None:
    """A role with just the migration's documented grants appends and verifies, but cannot edit."""
    open_store(postgres_url).close()  # migrated by the owner
    grants = (
        "GRANT SELECT, INSERT ON audit_events TO {}",
        "GRANT SELECT, UPDATE ON audit_head TO {}",
        "GRANT SELECT ON schema_version TO {}",
        "GRANT SELECT ON audit_keying TO {}",
    )
    with login_role(postgres_url, *grants) as writer_url:
        store = open_store(writer_url)
        try:
            assert [e.seq for e in store.append(records(3))] == [1, 2, 3]
            assert store.verify().ok
        finally:
            store.close()
        with psycopg.connect(writer_url, autocommit=True) as writer:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                writer.execute("UPDATE audit_events SET detail = 'edited' WHERE seq = 1")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                writer.execute("DELETE FROM audit_events")
