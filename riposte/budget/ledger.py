"""The budget ledger: a transactional counter of autonomous spends, in the audit store's database.

`open_ledger(url)` takes the audit store's URL (the store's migration 0004 made the table). A
spend is one transaction that takes the backend's write lock first (SQLite `BEGIN IMMEDIATE`, a
PostgreSQL advisory lock), so spends from any number of workers are counted one at a time:

    already asked under this action id?  ─► the first answer again (a retry never spends twice)
    else count this window's granted spends, per action and in all
         ─► insert granted if both are under their limits, else insert refused
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import psycopg

from riposte.audit.chain import canonical_time
from riposte.audit.store import POSTGRES_SCHEMES, SQLITE_PREFIX, UnsupportedStoreUrl
from riposte.budget.models import BudgetGrant, BudgetLimits, BudgetRequest
from riposte.errors import Unavailable

BUDGET_LOCK = 0x62_75_64_67_65_74  # "budget": one spend at a time across processes
_BUSY_SECONDS = 30.0


class BudgetLedger(Protocol):
    def spend(self, request: BudgetRequest, limits: BudgetLimits, now: datetime) -> BudgetGrant:
        """Spend one unit for `request.action_id` if the window allows; idempotent by id."""
        ...

    def close(self) -> None: ...


def open_ledger(url: str) -> BudgetLedger:
    if url.startswith(SQLITE_PREFIX):
        return SqliteLedger(Path(url.removeprefix(SQLITE_PREFIX)))
    if url.startswith(POSTGRES_SCHEMES):
        return PostgresLedger(url)
    raise UnsupportedStoreUrl("the budget ledger lives in the audit store: sqlite or postgresql")


def decide(
    request: BudgetRequest, limits: BudgetLimits, per_action: int, total: int
) -> BudgetGrant:
    """Grant when both counts are under their limits (counts before this spend)."""
    hours = f"{limits.window_seconds}s"
    if limits.per_action is not None and per_action >= limits.per_action:
        why = f"{request.action}: {per_action} of {limits.per_action} in the last {hours}"
        return BudgetGrant(granted=False, spent_action=per_action, spent_total=total, reason=why)
    if limits.total is not None and total >= limits.total:
        why = f"all actions: {total} of {limits.total} in the last {hours}"
        return BudgetGrant(granted=False, spent_action=per_action, spent_total=total, reason=why)
    return BudgetGrant(granted=True, spent_action=per_action + 1, spent_total=total + 1)


_COUNT = "SELECT COUNT(*) FROM budget_spends WHERE granted = {true} AND spent_at > {mark}"


class SqliteLedger:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                path, timeout=_BUSY_SECONDS, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("SELECT 1 FROM budget_spends LIMIT 1")
        except sqlite3.Error as err:
            raise Unavailable(f"the budget ledger in {path} cannot be opened: {err}") from err

    def spend(self, request: BudgetRequest, limits: BudgetLimits, now: datetime) -> BudgetGrant:
        since = canonical_time(now - timedelta(seconds=limits.window_seconds))
        count = _COUNT.format(true="1", mark="?")
        with self._lock, self._transaction() as conn:
            known = conn.execute(
                "SELECT granted FROM budget_spends WHERE action_id = ?", (request.action_id,)
            ).fetchone()
            (per,) = conn.execute(count + " AND action = ?", (since, request.action)).fetchone()
            (total,) = conn.execute(count, (since,)).fetchone()
            if known is not None:
                return BudgetGrant(granted=bool(known[0]), spent_action=per, spent_total=total)
            grant = decide(request, limits, per, total)
            conn.execute(
                "INSERT INTO budget_spends (action_id, action, spent_at, granted) "
                "VALUES (?, ?, ?, ?)",
                (request.action_id, request.action, canonical_time(now), int(grant.granted)),
            )
        return grant

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise Unavailable(f"the budget ledger in {self._path} stayed locked") from err
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(err, sqlite3.OperationalError):
                raise Unavailable(f"the budget ledger in {self._path} failed: {err}") from err
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PostgresLedger:
    def __init__(self, url: str) -> None:
        self._url = url
        self._lock = threading.Lock()
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        try:
            return psycopg.connect(self._url, connect_timeout=10, options="-c TimeZone=UTC")
        except psycopg.Error as err:  # its text can echo the URL: say nothing of it
            raise Unavailable("cannot reach the PostgreSQL budget ledger") from err

    def spend(self, request: BudgetRequest, limits: BudgetLimits, now: datetime) -> BudgetGrant:
        since = now - timedelta(seconds=limits.window_seconds)
        count = _COUNT.format(true="true", mark="%s")
        with self._lock:
            if self._conn.closed or self._conn.broken:
                self._conn = self._connect()
            try:
                with self._conn.transaction():
                    conn = self._conn
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (BUDGET_LOCK,))
                    known = conn.execute(
                        "SELECT granted FROM budget_spends WHERE action_id = %s",
                        (request.action_id,),
                    ).fetchone()
                    per = _counted(
                        conn.execute(count + " AND action = %s", (since, request.action))
                    )
                    total = _counted(conn.execute(count, (since,)))
                    if known is not None:
                        return BudgetGrant(
                            granted=bool(known[0]), spent_action=per, spent_total=total
                        )
                    grant = decide(request, limits, per, total)
                    conn.execute(
                        "INSERT INTO budget_spends (action_id, action, spent_at, granted) "
                        "VALUES (%s, %s, %s, %s)",
                        (request.action_id, request.action, now, grant.granted),
                    )
            except psycopg.OperationalError as err:
                raise Unavailable("the PostgreSQL budget ledger failed") from err
        return grant

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _counted(cursor: psycopg.Cursor[tuple[object, ...]]) -> int:
    row = cursor.fetchone()
    return int(str(row[0])) if row else 0
