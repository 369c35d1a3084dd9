"""Schema migrations: applied once on start, and a schema newer than the code is refused."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from riposte.audit.schema import Backend, SchemaTooNew, migrations
from riposte.audit.store import open_store

SQLITE_PREFIX = "sqlite:///"


def versions(url: str) -> list[int]:
    query = "SELECT version FROM schema_version ORDER BY version"
    if url.startswith(SQLITE_PREFIX):
        with sqlite3.connect(url.removeprefix(SQLITE_PREFIX)) as raw:
            return [int(v) for (v,) in raw.execute(query)]
    with psycopg.connect(url) as conn:
        return [int(str(v)) for (v,) in conn.execute(query)]


def stamp(url: str, version: int) -> None:
    """Record `version` as applied, as a newer Riposte would have."""
    if url.startswith(SQLITE_PREFIX):
        with sqlite3.connect(url.removeprefix(SQLITE_PREFIX)) as raw:
            raw.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, 'later')", (version,)
            )
        return
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))


def test_every_migration_is_applied_once(audit_url: str) -> None:
    """A new store records each shipped migration; reopening it applies nothing again."""
    backend = Backend.SQLITE if audit_url.startswith(SQLITE_PREFIX) else Backend.POSTGRES
    known = [m.version for m in migrations(backend)]
    open_store(audit_url).close()
    assert versions(audit_url) == known
    open_store(audit_url).close()
    assert versions(audit_url) == known


def test_a_schema_newer_than_the_code_is_refused(audit_url: str) -> None:
    """A store whose schema_version is past the newest shipped migration does not open."""
    open_store(audit_url).close()
    known = max(versions(audit_url))  # versions may have gaps: numbers are handed out ahead
    stamp(audit_url, known + 1)
    with pytest.raises(SchemaTooNew) as caught:
        open_store(audit_url)
    assert (caught.value.found, caught.value.known) == (known + 1, known)


def test_both_backends_ship_the_same_schema_versions() -> None:
    """SQLite and PostgreSQL migrate in step, so a version number means the same schema."""
    sqlite_names = [m.name for m in migrations(Backend.SQLITE)]
    postgres_names = [m.name for m in migrations(Backend.POSTGRES)]
    assert sqlite_names == postgres_names
    assert sqlite_names[0] == "0001_initial.sql"
