"""The audit store check: reachable, its schema known, writable by this role, and its chain whole.

Nothing is written. The schema version and the privileges are read directly (a store opened
through `open_store` would create or migrate its schema); only when the schema is current, so that
opening it changes nothing, is the chain verified through the store.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import LiteralString

import psycopg
from psycopg.conninfo import conninfo_to_dict

from riposte.audit.key import AuditKey
from riposte.audit.schema import Backend, migrations
from riposte.audit.store import POSTGRES_SCHEMES, SQLITE_PREFIX, open_store
from riposte.doctor.report import Check, fail, ok
from riposte.errors import RiposteError

NAME = "audit store"
CONNECT_TIMEOUT_SECONDS = 10
# What the writer role needs (riposte/audit/migrations/postgres/0001_initial.sql).
WRITER_GRANTS = (
    ("audit_events", "SELECT"),
    ("audit_events", "INSERT"),
    ("audit_head", "SELECT"),
    ("audit_head", "UPDATE"),
    ("schema_version", "SELECT"),
    ("audit_keying", "SELECT"),  # from 0002_keyed_chain.sql
)


def check_audit(url: str, key: AuditKey | None = None) -> Check:
    if url.startswith(SQLITE_PREFIX):
        return _sqlite(Path(url.removeprefix(SQLITE_PREFIX)), url, key)
    if url.startswith(POSTGRES_SCHEMES):
        return _postgres(url, key)
    return fail(NAME, "unsupported audit URL: use sqlite:///PATH or postgresql://...")


def _sqlite(path: Path, url: str, key: AuditKey | None) -> Check:
    where = f"SQLite {path}"
    if not path.exists():
        parent = _existing_parent(path)
        if not os.access(parent, os.W_OK | os.X_OK):
            return fail(NAME, f"{where} does not exist and {parent} is not writable")
        return ok(NAME, f"{where} does not exist yet; the first write creates it")
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
        return fail(NAME, f"{where} (or its folder) is not writable by this user")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as err:
        return fail(NAME, f"{where} cannot be read as an audit store: {err}")
    version = int(row[0]) if row else 0
    return _versioned(where, url, key, version, Backend.SQLITE, may_migrate=True)


def _postgres(url: str, key: AuditKey | None) -> Check:
    where = f"PostgreSQL {_describe(url)}"
    try:
        conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=True)
    except psycopg.Error:
        return fail(NAME, f"{where} cannot be reached (check RIPOSTE_AUDIT_URL and the server)")
    try:
        conn.read_only = True
        role = str(_one(conn, "SELECT current_user"))
        may_create = bool(_one(conn, "SELECT has_schema_privilege(current_schema(), 'CREATE')"))
        if not _one(conn, "SELECT to_regclass('schema_version') IS NOT NULL"):
            if may_create:
                return ok(NAME, f"{where} is empty; the first start creates the schema as {role}")
            return fail(
                NAME,
                f"{where} is empty and {role} may not create tables: open it once as the "
                "owner (e.g. riposte audit verify with the owner's RIPOSTE_AUDIT_URL)",
            )
        lacking = [
            f"{privilege} ON {table}"
            for table, privilege in WRITER_GRANTS
            if _one(conn, "SELECT to_regclass(%s) IS NOT NULL", (table,))
            and not _one(conn, "SELECT has_table_privilege(%s, %s)", (table, privilege))
        ]
        if lacking:  # checked first: without SELECT the schema version cannot even be read
            return fail(NAME, f"{where}: grant {role} " + ", ".join(lacking))
        version = int(str(_one(conn, "SELECT COALESCE(MAX(version), 0) FROM schema_version")))
    except psycopg.Error as err:
        return fail(NAME, f"{where}: {type(err).__name__} reading the schema")
    finally:
        conn.close()
    return _versioned(where, url, key, version, Backend.POSTGRES, may_migrate=may_create)


def _versioned(
    where: str, url: str, key: AuditKey | None, version: int, backend: Backend, *, may_migrate: bool
) -> Check:
    known = len(migrations(backend))
    if version > known:
        return fail(
            NAME,
            f"{where} has schema version {version}, newer than the {known} this Riposte knows: "
            "upgrade Riposte",
        )
    if version < known and not may_migrate:
        return fail(
            NAME,
            f"{where} is at schema {version} of {known}, and this role may not migrate it: "
            "open it once as the owner",
        )
    if version < known:
        return ok(NAME, f"{where} is at schema {version}; the first start migrates it to {known}")
    try:
        store = open_store(url, key)
        try:
            result = store.verify()
        finally:
            store.close()
    except RiposteError as err:
        return fail(NAME, f"{where}: {err}")
    if not result.ok:
        shown = "; ".join(result.problems[:3])
        return fail(NAME, f"{where}: the chain does not verify ({shown}); see riposte audit verify")
    return ok(NAME, f"{where}: schema {version}, writable, {result.events} events, chain verifies")


def _one(
    conn: psycopg.Connection[tuple[object, ...]], query: LiteralString, params: tuple[str, ...] = ()
) -> object:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def _existing_parent(path: Path) -> Path:
    parent = path.parent.resolve()
    while not parent.exists():
        parent = parent.parent
    return parent


def _describe(url: str) -> str:
    """host:port/dbname, never the password."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(malformed URL)"
    return (
        f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"
    )
