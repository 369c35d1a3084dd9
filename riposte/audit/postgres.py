"""The PostgreSQL audit store (psycopg 3): the same chain, for production and many writers.

An append locks the chain head row (`SELECT ... FOR UPDATE`) before it reads it, and inserts
its events and moves the head in the same transaction, so writers in any number of processes
extend one chain in turn. Ids are checked under that lock, so a retried write is found, never
inserted twice. Triggers refuse UPDATE, DELETE and TRUNCATE on events (see the migration for
the grants a least-privilege deployment uses). Any PostgreSQL failure, a privilege the role
lacks or a table dropped behind the store's back included, becomes `Unavailable` in words.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import psycopg
from psycopg.conninfo import conninfo_to_dict

from riposte.audit import chain
from riposte.audit.checkpoint import Checkpoint
from riposte.audit.events import AuditEvent, AuditFilter, AuditRecord, VerifyResult
from riposte.audit.filters import where_clause
from riposte.audit.key import AuditKey
from riposte.audit.schema import Backend, pending
from riposte.errors import InvalidInput, Unavailable

MIGRATION_LOCK = 0x72_69_70_6F_73_74_65  # "riposte": one migrator at a time
PAGE = 2000
CONNECT_TIMEOUT_SECONDS = 10

_COLUMNS = ", ".join(chain.COLUMNS)
_MARKS = ", ".join("%s" for _ in chain.COLUMNS)
# Column names are fixed (chain.COLUMNS); every value goes through a parameter.
_INSERT = f"INSERT INTO audit_events ({_COLUMNS}) VALUES ({_MARKS})"  # noqa: S608
_SELECT = f"SELECT {_COLUMNS} FROM audit_events"  # noqa: S608
_HEAD = "SELECT seq, hash, mac FROM audit_head"
_HEAD_FOR_UPDATE = _HEAD + " FOR UPDATE"


class PostgresStore:
    """The audit trail in a PostgreSQL database (its tables created on first open)."""

    def __init__(self, url: str, key: AuditKey | None = None) -> None:
        self._url = url
        self._key = key
        self._where = _describe(url)
        self._lock = threading.Lock()
        self._conn = self._connect()
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        try:
            return psycopg.connect(
                self._url, connect_timeout=CONNECT_TIMEOUT_SECONDS, options="-c TimeZone=UTC"
            )
        except psycopg.Error as err:
            # psycopg's text can echo connection parameters; name only host, port and database.
            raise Unavailable(f"cannot reach the PostgreSQL audit store at {self._where}") from err

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """The store's connection (reconnecting if it broke) inside one transaction."""
        with self._lock:
            if self._conn.closed or self._conn.broken:
                self._conn = self._connect()
            try:
                with self._conn.transaction():
                    yield self._conn
            except psycopg.Error as err:
                raise Unavailable(
                    f"the PostgreSQL audit store at {self._where} failed: {_reason(err)}"
                ) from err

    def _migrate(self) -> None:
        with self._transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            # Checked before created: a writer role without CREATE opens a migrated store.
            known = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
            if not (known and known[0]):
                conn.execute(
                    "CREATE TABLE schema_version "
                    "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
            rows = conn.execute("SELECT version FROM schema_version").fetchall()
            applied = {int(str(row[0])) for row in rows}
            for migration in pending(Backend.POSTGRES, applied):
                conn.execute(migration.sql.encode("utf-8"))
                conn.execute(
                    "INSERT INTO schema_version (version) VALUES (%s)", (migration.version,)
                )
            if self._key is not None:
                _seal_awaiting_head(conn, self._key)

    def append(self, records: Sequence[AuditRecord]) -> list[AuditEvent]:
        if not records:
            return []
        if any(not record.id for record in records):
            raise InvalidInput("an audit record needs an id")
        with self._transaction() as conn:
            head = _chain_head(conn, lock=True)
            if head.seq is None:
                raise Unavailable(f"the audit store at {self._where} has no chain head")
            ids = sorted({record.id for record in records})
            rows = conn.execute(_SELECT + " WHERE id = ANY(%s)", (ids,)).fetchall()
            stored = {event.id: event for event in map(_event, rows)}
            placed, new = chain.extend(records, stored, head.seq, head.hash, self._key)
            if new:
                with conn.cursor() as cursor:
                    cursor.executemany(_INSERT, [_values(event) for event in new])
                last = new[-1]
                mac = chain.appended_head_mac(head, last.seq, last.hash, self._key)
                conn.execute(
                    "UPDATE audit_head SET seq = %s, hash = %s, mac = %s",
                    (last.seq, last.hash, mac),
                )
        return placed

    def query(self, f: AuditFilter) -> list[AuditEvent]:
        where, params = where_clause(f, "%s", _utc)
        with self._transaction() as conn:
            rows = conn.execute(_SELECT + where, params).fetchall()
        return [_event(row) for row in rows]

    def verify(self, checkpoint: Checkpoint | None = None) -> VerifyResult:
        """Walk one snapshot (REPEATABLE READ) on a connection of its own; appends carry on."""
        conn = self._connect()
        try:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction():
                check = chain.ChainCheck(self._key, _chain_head(conn), checkpoint)
                last = 0
                while True:
                    rows = conn.execute(
                        _SELECT + " WHERE seq > %s ORDER BY seq LIMIT %s",
                        (last, PAGE),
                    ).fetchall()
                    if not rows:
                        break
                    check.feed(_row(row) for row in rows)
                    last = int(str(rows[-1][chain.COLUMNS.index("seq")]))
            return check.finish()
        except psycopg.Error as err:
            raise Unavailable(
                f"the PostgreSQL audit store at {self._where} cannot be read: {_reason(err)}"
            ) from err
        finally:
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _chain_head(conn: psycopg.Connection[tuple[object, ...]], *, lock: bool = False) -> chain.Head:
    """The chain head (locked, with `lock`) and keying records; a dropped table reads as gone."""
    present = conn.execute(
        "SELECT to_regclass('audit_head') IS NOT NULL, to_regclass('audit_keying') IS NOT NULL"
    ).fetchone()
    has_head, has_keying = (bool(present[0]), bool(present[1])) if present else (False, False)
    head = keying = None
    if has_head:
        query = _HEAD_FOR_UPDATE if lock else _HEAD
        head = conn.execute(query).fetchone()
    if has_keying:
        keying = conn.execute("SELECT keyed_from FROM audit_keying").fetchone()
    dropped = [
        name
        for name, there in ((chain.HEAD_TABLE, has_head), (chain.KEYING_TABLE, has_keying))
        if not there
    ]
    return chain.head_of(head, keying, dropped)


def _seal_awaiting_head(conn: psycopg.Connection[tuple[object, ...]], key: AuditKey) -> None:
    """Seal a head the migrations left awaiting its seal (chain.upgrade_seal), if any.

    A role that may not update the head (an auditor's) leaves it for one that may; verify then
    says that the head awaits its seal.
    """
    head = _chain_head(conn)
    mac = chain.upgrade_seal(head, key)
    if mac is None:
        return
    allowed = conn.execute("SELECT has_table_privilege('audit_head', 'UPDATE')").fetchone()
    if allowed and allowed[0]:
        conn.execute(
            "UPDATE audit_head SET mac = %s WHERE seq = %s AND hash = %s AND mac = %s",
            (mac, head.seq, head.hash, head.mac),
        )


def _reason(err: psycopg.Error) -> str:
    """The server's words for a failure (never the connection string), with advice if any."""
    reason = err.diag.message_primary or type(err).__name__
    if isinstance(err, psycopg.errors.InsufficientPrivilege):
        reason += " (grant this role what docker/postgres/grant-writer.sql grants the writer)"
    return reason


def _describe(url: str) -> str:
    """host:port/dbname, never the user's password."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as err:
        raise InvalidInput("the PostgreSQL audit store URL is malformed") from err
    return (
        f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"
    )


def _utc(moment: datetime) -> datetime:
    return chain.parse_time(chain.canonical_time(moment))


def _values(event: AuditEvent) -> tuple[object, ...]:
    row: dict[str, object] = dict(chain.row_of(event))
    row["time"] = event.time
    return tuple(row[name] for name in chain.COLUMNS)


def _row(row: Sequence[object]) -> dict[str, str | int]:
    """A stored row as the chain sees it: `time` back in canonical text."""
    fields: dict[str, str | int] = {}
    for name, value in zip(chain.COLUMNS, row, strict=True):
        if isinstance(value, datetime):
            fields[name] = chain.canonical_time(value)
        elif isinstance(value, int):
            fields[name] = value
        else:
            fields[name] = str(value)
    return fields


def _event(row: Sequence[object]) -> AuditEvent:
    fields = dict(zip(chain.COLUMNS, row, strict=True))
    return AuditEvent.model_validate(fields)
