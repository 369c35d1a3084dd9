"""The SQLite audit store: one file (mode 0600), WAL journal, safe across threads and processes.

Every append runs in `BEGIN IMMEDIATE`, which takes SQLite's write lock before the chain head is
read, so writers in several processes extend one chain in turn. Triggers refuse UPDATE and
DELETE on events; the chain head only moves forward. Any SQLite failure, a file that is not a
database or cannot be opened for writing included, becomes `Unavailable` with its reason in words.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from riposte.audit import chain
from riposte.audit.checkpoint import Checkpoint
from riposte.audit.events import AuditEvent, AuditFilter, AuditRecord, VerifyResult
from riposte.audit.filters import where_clause
from riposte.audit.key import AuditKey
from riposte.audit.schema import Backend, pending
from riposte.errors import InvalidInput, Unavailable

BUSY_TIMEOUT_SECONDS = 30.0
PAGE = 2000
_MAX_PARAMS = 500  # ids per `IN (...)`, well under SQLite's variable limit

_COLUMNS = ", ".join(chain.COLUMNS)
_MARKS = ", ".join("?" for _ in chain.COLUMNS)
# Column names are fixed (chain.COLUMNS); every value goes through a parameter.
_INSERT = f"INSERT INTO audit_events ({_COLUMNS}) VALUES ({_MARKS})"  # noqa: S608
_SELECT = f"SELECT {_COLUMNS} FROM audit_events"  # noqa: S608


class SqliteStore:
    """The audit trail in one SQLite file (created, with its folder, if missing)."""

    def __init__(self, path: Path, key: AuditKey | None = None) -> None:
        self.path = path
        self._key = key
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Created 0600 before SQLite opens it; its -wal and -shm files take the same mode.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as err:
            hint = (
                " (Riposte opens the store to write, migrating it as it opens: verify a writable "
                "copy)"
                if isinstance(err, PermissionError)
                else ""
            )
            raise Unavailable(
                f"cannot open the audit store {path} for writing: {err.strerror or err}{hint}"
            ) from err
        self._lock = threading.Lock()
        self._conn = self._connect()
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # transactions are explicit
                check_same_thread=False,  # guarded by self._lock
            )
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as err:
            raise Unavailable(f"cannot open the audit store {self.path}: {err}") from err
        return conn

    @contextmanager
    def _immediate(self, conn: sqlite3.Connection) -> Iterator[None]:
        """One write transaction, holding SQLite's write lock from its start.

        Operational failures (locked past the busy timeout, disk full, I/O) become `Unavailable`,
        which callers such as the audit activity retry.
        """
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as err:
            raise Unavailable(f"the audit store {self.path} stayed locked: {err}") from err
        try:
            yield
            conn.execute("COMMIT")
        except BaseException as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):
                raise Unavailable(f"the audit store {self.path} failed: {err}") from err
            raise

    def _migrate(self) -> None:
        conn = self._conn
        with self._immediate(conn):
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
            for migration in pending(Backend.SQLITE, applied):
                for statement in _statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (migration.version, chain.canonical_time(datetime.now(UTC))),
                )
            if self._key is not None:
                self._seal_awaiting_head(self._key)

    def _seal_awaiting_head(self, key: AuditKey) -> None:
        """Seal a head the migrations left awaiting its seal (chain.upgrade_seal), if any."""
        head = _chain_head(self._conn)
        mac = chain.upgrade_seal(head, key)
        if mac is not None:
            self._conn.execute(
                "UPDATE audit_head SET mac = ? WHERE seq = ? AND hash = ? AND mac = ?",
                (mac, head.seq, head.hash, head.mac),
            )

    def append(self, records: Sequence[AuditRecord]) -> list[AuditEvent]:
        if not records:
            return []
        if any(not record.id for record in records):
            raise InvalidInput("an audit record needs an id")
        with self._lock, self._immediate(self._conn):
            stored = self._stored({record.id for record in records})
            head = _chain_head(self._conn)
            if head.seq is None:
                raise Unavailable(f"the audit store {self.path} has no chain head row")
            placed, new = chain.extend(records, stored, head.seq, head.hash, self._key)
            if new:
                self._conn.executemany(_INSERT, (_values(event) for event in new))
                last = new[-1]
                mac = chain.appended_head_mac(head, last.seq, last.hash, self._key)
                self._conn.execute(
                    "UPDATE audit_head SET seq = ?, hash = ?, mac = ?", (last.seq, last.hash, mac)
                )
        return placed

    def _stored(self, ids: set[str]) -> dict[str, AuditEvent]:
        found: dict[str, AuditEvent] = {}
        wanted = sorted(ids)
        for start in range(0, len(wanted), _MAX_PARAMS):
            chunk = wanted[start : start + _MAX_PARAMS]
            marks = ", ".join("?" for _ in chunk)
            rows = self._conn.execute(_SELECT + f" WHERE id IN ({marks})", chunk)
            for row in rows:
                event = _event(row)
                found[event.id] = event
        return found

    def query(self, f: AuditFilter) -> list[AuditEvent]:
        where, params = where_clause(f, "?", chain.canonical_time)
        with self._lock:
            try:
                rows = self._conn.execute(_SELECT + where, params).fetchall()
            except sqlite3.Error as err:
                raise Unavailable(f"the audit store {self.path} failed: {err}") from err
        return [_event(row) for row in rows]

    def verify(self, checkpoint: Checkpoint | None = None) -> VerifyResult:
        """Walk one consistent snapshot on a connection of its own; appends carry on meanwhile."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            check = chain.ChainCheck(self._key, _chain_head(conn), checkpoint)
            last = 0
            while True:
                rows = conn.execute(
                    _SELECT + " WHERE seq > ? ORDER BY seq LIMIT ?",
                    (last, PAGE),
                ).fetchall()
                if not rows:
                    break
                check.feed(dict(zip(chain.COLUMNS, row, strict=True)) for row in rows)
                last = rows[-1][chain.COLUMNS.index("seq")]
            conn.execute("COMMIT")
            return check.finish()
        except sqlite3.Error as err:
            raise Unavailable(f"the audit store {self.path} cannot be read: {err}") from err
        finally:
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _chain_head(conn: sqlite3.Connection) -> chain.Head:
    """The chain head and keying records; a table dropped outside Riposte reads as gone."""
    tables = {
        str(name)
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
            (chain.HEAD_TABLE, chain.KEYING_TABLE),
        )
    }
    head = keying = None
    if chain.HEAD_TABLE in tables:
        head = conn.execute("SELECT seq, hash, mac FROM audit_head").fetchone()
    if chain.KEYING_TABLE in tables:
        keying = conn.execute("SELECT keyed_from FROM audit_keying").fetchone()
    dropped = {chain.HEAD_TABLE, chain.KEYING_TABLE} - tables
    return chain.head_of(head, keying, dropped)


def _statements(script: str) -> Iterator[str]:
    """A migration's statements, one at a time (trigger bodies keep their inner semicolons)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {buffer[:80]!r}")


def _values(event: AuditEvent) -> tuple[str | int, ...]:
    row = chain.row_of(event)
    return tuple(row[name] for name in chain.COLUMNS)


def _event(row: Sequence[object]) -> AuditEvent:
    fields = dict(zip(chain.COLUMNS, row, strict=True))
    fields["time"] = chain.parse_time(str(fields["time"]))
    return AuditEvent.model_validate(fields)
