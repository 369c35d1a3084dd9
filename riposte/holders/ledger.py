"""The holders ledger: which responses hold each shared block, in the audit store's database.

Why a ledger, and why there:
- The tenant cannot say who holds a rule. An NSG rule has one description (140 characters) and
  a named location one list of ranges; writing holders into them is a read-modify-write on ARM
  or Graph with no transaction, which two responses racing to join and leave would lose.
- Temporal can say which responses run, but not atomically answer "am I the last holder?":
  visibility is eventually consistent, and two reverts at the same moment would both see the
  other still running (the block outlives both) or neither (one removes it under the other).
- The audit database is already the one store every worker shares, SQLite or PostgreSQL, with
  transactions: a hold and a release each run in one transaction (SQLite `BEGIN IMMEDIATE`,
  PostgreSQL `SELECT ... FOR UPDATE` on the block's row), so exactly one release is the last.
  It survives restarts and lost workflow histories, which is what the reconciler needs to find
  blocks that no live response holds.

The protocol, which keeps activity retries from applying anything twice:
- `hold` before writing to the tenant, then make sure the rule or range exists (a retry finds
  it by name); holding again is a no-op.
- `release` when reverting; only when it answers `last` remove the block from the tenant, then
  `forget` it. A retried release answers what the first one did. While a block is RELEASING a
  new hold raises `BlockReleasing` (retried), so nobody joins a rule that is being deleted.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from riposte.audit.chain import canonical_time
from riposte.audit.store import POSTGRES_SCHEMES, SQLITE_PREFIX, UnsupportedStoreUrl, open_store
from riposte.errors import Unavailable
from riposte.holders.models import (
    BlockKey,
    BlockKind,
    BlockReleasing,
    BlockState,
    Holder,
    HoldOutcome,
    ReleaseOutcome,
    SharedBlock,
)

BUSY_TIMEOUT_SECONDS = 30.0


class _Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...


class Ledger:
    """Holds and releases of shared blocks. Synchronous and thread-safe; call it off the loop."""

    def __init__(self, url: str) -> None:
        open_store(url).close()  # creates and migrates the tables, as the audit store does
        if url.startswith(SQLITE_PREFIX):
            self._db: _Database = _Sqlite(Path(url.removeprefix(SQLITE_PREFIX)))
        elif url.startswith(POSTGRES_SCHEMES):
            self._db = _Postgres(url)
        else:
            raise UnsupportedStoreUrl(f"no holders ledger for {url.partition(':')[0]!r}")

    def hold(self, key: BlockKey, holder: Holder) -> HoldOutcome:
        now = _now()
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO shared_blocks (block, kind, scope, item, state, changed_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (block) DO NOTHING",
                (key.id, key.kind.value, key.scope, key.item, BlockState.HELD.value, now),
            )
            state = db.execute(self._db.state_sql, (key.id,)).fetchone()
            if state is not None and state[0] == BlockState.RELEASING.value:
                raise BlockReleasing(key)
            others = self._holders(db, key, excluding=holder)
            db.execute(
                "INSERT INTO block_holders (block, response_id, action_id, held_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (block, action_id) "
                "DO UPDATE SET released_at = NULL, last = 0",
                (key.id, holder.response_id, holder.action_id, now),
            )
        return HoldOutcome(first=not others, others=others)

    def release(self, key: BlockKey, holder: Holder) -> ReleaseOutcome:
        now = _now()
        with self._db.transaction() as db:
            block = db.execute(self._db.state_sql, (key.id,)).fetchone()
            mine = db.execute(
                "SELECT released_at, last FROM block_holders WHERE block = ? AND action_id = ?",
                (key.id, holder.action_id),
            ).fetchone()
            remaining = self._holders(db, key, excluding=holder)
            if mine is not None and mine[0] is not None:  # a retried release
                return ReleaseOutcome(last=bool(mine[1]), remaining=remaining, repeated=True)
            last = not remaining
            if mine is not None:
                db.execute(
                    "UPDATE block_holders SET released_at = ?, last = ? "
                    "WHERE block = ? AND action_id = ?",
                    (now, int(last), key.id, holder.action_id),
                )
            if last and block is not None:
                db.execute(
                    "UPDATE shared_blocks SET state = ?, changed_at = ? WHERE block = ?",
                    (BlockState.RELEASING.value, now, key.id),
                )
        return ReleaseOutcome(last=last, remaining=remaining)

    def forget(self, key: BlockKey) -> None:
        """The block is gone from the tenant: drop it, keeping its holders' rows as history."""
        with self._db.transaction() as db:
            db.execute(
                "DELETE FROM shared_blocks WHERE block = ? AND state = ?",
                (key.id, BlockState.RELEASING.value),
            )

    def blocks(self, kind: BlockKind | None = None) -> list[SharedBlock]:
        """Every block in the ledger, with its current holders, by id."""
        with self._db.transaction() as db:
            rows = db.execute(
                "SELECT block, kind, scope, item, state FROM shared_blocks ORDER BY block"
            ).fetchall()
            found = []
            for block, found_kind, scope, item, state in rows:
                if kind is not None and found_kind != kind.value:
                    continue
                key = BlockKey(kind=BlockKind(found_kind), scope=scope, item=item)
                last = db.execute(
                    "SELECT response_id, action_id FROM block_holders "
                    "WHERE block = ? AND last = 1 ORDER BY released_at DESC",
                    (block,),
                ).fetchone()
                found.append(
                    SharedBlock(
                        key=key,
                        state=BlockState(state),
                        holders=self._holders(db, key),
                        last_holder=Holder(response_id=last[0], action_id=last[1])
                        if last
                        else None,
                    )
                )
        return found

    def close(self) -> None:
        self._db.close()

    def _holders(
        self, db: _Cursor, key: BlockKey, *, excluding: Holder | None = None
    ) -> tuple[Holder, ...]:
        rows = db.execute(
            "SELECT response_id, action_id FROM block_holders "
            "WHERE block = ? AND released_at IS NULL ORDER BY held_at, action_id",
            (key.id,),
        ).fetchall()
        holders = (Holder(response_id=r, action_id=a) for r, a in rows)
        return tuple(h for h in holders if excluding is None or h.action_id != excluding.action_id)


_STATE = "SELECT state FROM shared_blocks WHERE block = ?"


class _Database(Protocol):
    state_sql: str  # reads a block's state, locking its row until the transaction ends

    def transaction(self) -> Any: ...

    def close(self) -> None: ...


class _Sqlite:
    state_sql = _STATE  # BEGIN IMMEDIATE already holds the database's write lock

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as err:
            raise Unavailable(f"cannot open the holders ledger in {path}: {err}") from err

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as err:
                raise Unavailable(f"the holders ledger stayed locked: {err}") from err
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as err:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(err, sqlite3.OperationalError):
                    raise Unavailable(f"the holders ledger failed: {err}") from err
                raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _Postgres:
    state_sql = _STATE + " FOR UPDATE"

    def __init__(self, url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self._url = url
        self._lock = threading.Lock()
        self._conn = self._connect()

    def _connect(self) -> Any:
        try:
            return self._psycopg.connect(self._url, connect_timeout=10)
        except self._psycopg.Error as err:
            raise Unavailable("cannot reach the PostgreSQL holders ledger") from err

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        with self._lock:
            if self._conn.closed or self._conn.broken:
                self._conn = self._connect()
            try:
                with self._conn.transaction():
                    yield _Marks(self._conn)
            except self._psycopg.OperationalError as err:
                raise Unavailable("the PostgreSQL holders ledger failed") from err

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _Marks:
    """A psycopg connection that takes SQLite's `?` placeholders (the SQL above has no `%`)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), params)


def _now() -> str:
    return canonical_time(datetime.now(UTC))
