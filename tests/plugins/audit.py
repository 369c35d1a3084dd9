"""The audit store for tests: a SQLite file or a fresh PostgreSQL database per test, and records.

PostgreSQL is the real server on 127.0.0.1:5432 (trust auth, user postgres), which CI starts;
when it cannot be reached the `postgres_url` fixture fails rather than skipping, so a run
without it never passes silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from riposte.audit.events import AuditKind, AuditRecord
from riposte.audit.key import AuditKey
from riposte.audit.sqlite import SqliteStore
from riposte.audit.store import AuditStore, open_store

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

START = datetime(2021, 6, 9, 9, 0, tzinfo=UTC)
TEST_KEY_TEXT = "riposte-test-audit-key"
TEST_KEY = AuditKey(TEST_KEY_TEXT.encode(), "tests")

_TARGETS = ("ben@contoso.com", "10.8.0.25", "adele@contoso.com")
_ACTIONS = ("disable_sign_in", "block_ports", "delete_inbox_rules")
_KINDS = (AuditKind.SIMULATED, AuditKind.EXECUTED, AuditKind.APPROVED)


def record(n: int, **fields: object) -> AuditRecord:
    """The n-th sample record: one minute after the previous, cycling targets and kinds."""
    base: dict[str, object] = {
        "id": f"resp-{n // 3}:a{n % 3}:{n}",
        "time": START + timedelta(minutes=n),
        "kind": _KINDS[n % 3],
        "response_id": f"darktrace:dt-{n // 3}",
        "alert_id": f"dt-{n // 3}",
        "policy": "m365-account-takeover" if n % 2 == 0 else "network-lateral-movement",
        "policy_hash": "ab" * 32,
        "action_id": f"darktrace:dt-{n // 3}:a{n % 3}",
        "action": _ACTIONS[n % 3],
        "target": _TARGETS[n % 3],
        "mode": "autonomous",
        "actor": "engine" if n % 3 != 2 else "soc.admin",
        "detail": f"event {n}",
    }
    base.update(fields)
    return AuditRecord.model_validate(base)


def records(count: int, start: int = 0) -> list[AuditRecord]:
    return [record(n) for n in range(start, start + count)]


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.fail(f"PostgreSQL is not reachable at 127.0.0.1:5432 as postgres: {err}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty, uniquely named database; dropped after the test."""
    name = f"riposte_test_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with _admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


READ_ONLY = "GRANT SELECT ON audit_events, audit_head, audit_keying, schema_version TO {}"


@contextmanager
def login_role(postgres_url: str, *grants: str) -> Iterator[str]:
    """A new login role on the store of `postgres_url` with `grants` ("GRANT ... TO {}"), as
    the URL to connect as it; dropped after (its sessions ended first)."""
    role = f"riposte_role_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as owner:
        owner.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        for grant in grants:
            owner.execute(sql.SQL(grant).format(sql.Identifier(role)))
    try:
        yield postgres_url.replace("postgresql://postgres@", f"postgresql://{role}@")
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as owner:
            owner.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
            )
            owner.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            owner.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def keyed_env(monkeypatch: pytest.MonkeyPatch) -> AuditKey:
    """RIPOSTE_AUDIT_KEY set to the tests' key, as an operator would set it; that key."""
    monkeypatch.setenv("RIPOSTE_AUDIT_KEY", TEST_KEY_TEXT)
    return TEST_KEY


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'audit.db'}"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "audit.db")
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def audit_url(request: pytest.FixtureRequest) -> str:
    """A store URL for each backend in turn (a fresh file or database)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def audit_store(audit_url: str) -> Iterator[AuditStore]:
    """An open, empty store for each backend in turn."""
    store = open_store(audit_url)
    yield store
    store.close()
