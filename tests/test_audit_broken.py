"""Broken stores get a clear answer: a file that cannot be written or is no database, a table
dropped behind the store's back, a PostgreSQL role without its grants; never a traceback."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from riposte.audit.events import AuditFilter
from riposte.audit.key import AuditKey
from riposte.audit.store import open_store
from riposte.cli import run
from riposte.errors import Unavailable
from tests.plugins.audit import READ_ONLY, TEST_KEY, login_role, records
from tests.test_audit_verify import tampered

SQLITE_PREFIX = "sqlite:///"


def dropped(url: str, copy_to: Path, table: str) -> str:
    """The store with `table` dropped (on SQLite, in a copy); its URL."""
    if url.startswith(SQLITE_PREFIX):
        return tampered(url, copy_to, f"DROP TABLE {table}")
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
    return url


@pytest.fixture
def data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyed_env: AuditKey
) -> Iterator[Path]:
    """A data dir whose default store (audit.db) holds three keyed events."""
    monkeypatch.delenv("RIPOSTE_AUDIT_URL", raising=False)
    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}", keyed_env)
    store.append(records(3))
    store.close()
    yield tmp_path


@pytest.fixture
def read_only(data_dir: Path) -> Iterator[Path]:
    """The data dir with audit.db read-only for this user; root ignores file modes, so for root
    the file is made immutable (chattr +i) instead."""
    path = data_dir / "audit.db"
    path.chmod(0o444)
    immutable = False
    if os.access(path, os.W_OK):
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", path], check=False).returncode:
            pytest.skip("this user writes read-only files and cannot make one immutable")
        immutable = True
    try:
        yield data_dir
    finally:
        if immutable:
            subprocess.run([str(chattr), "-i", path], check=True)
        path.chmod(0o600)


def test_a_read_only_store_file_is_answered_in_words(
    read_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`audit verify` on a store file this user cannot write exits 1 saying so."""
    assert run(["audit", "verify", "--data-dir", str(read_only)]) == 1
    err = capsys.readouterr().err
    assert f"cannot open the audit store {read_only / 'audit.db'} for writing" in err
    assert "verify a writable copy" in err
    assert "Traceback" not in err


def test_a_file_that_is_not_a_database_is_answered_in_words(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`audit verify` on an audit.db that holds something else exits 1 naming the problem."""
    (data_dir / "audit.db").write_bytes(b"these are not the events you are looking for\n" * 100)
    assert run(["audit", "verify", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert "cannot open the audit store" in err and "not a database" in err


def test_a_store_path_that_is_a_folder_is_answered_in_words(tmp_path: Path) -> None:
    """Opening a SQLite URL that names a folder is Unavailable, saying why."""
    (tmp_path / "audit.db").mkdir()
    with pytest.raises(Unavailable, match=r"cannot open the audit store .* for writing"):
        open_store(f"sqlite:///{tmp_path / 'audit.db'}", TEST_KEY)


def test_a_dropped_keying_table_fails_verify_in_words(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`audit verify` on a store whose audit_keying table was dropped exits 1 and names it."""
    with sqlite3.connect(data_dir / "audit.db") as raw:
        raw.execute("DROP TABLE audit_keying")
    assert run(["audit", "verify", "--data-dir", str(data_dir)]) == 1
    out = capsys.readouterr().out
    assert "does NOT verify" in out
    assert "the store's keying table (audit_keying) is missing (dropped outside Riposte)" in out


@pytest.mark.parametrize("table", ["audit_keying", "audit_head"])
def test_a_dropped_table_is_a_verify_problem_on_both_backends(
    audit_url: str, tmp_path: Path, table: str
) -> None:
    """With the keying or the head table dropped, verify answers with that problem alone."""
    store = open_store(audit_url, TEST_KEY)
    store.append(records(2))
    store.close()
    store = open_store(dropped(audit_url, tmp_path, table), TEST_KEY)
    try:
        result = store.verify()
    finally:
        store.close()
    assert result.problems == (
        (
            "the store's keying table (audit_keying) is missing (dropped outside Riposte)"
            if table == "audit_keying"
            else "the chain head's table (audit_head) is missing (dropped outside Riposte)"
        ),
    )


def test_events_are_still_appended_without_the_keying_record(
    audit_url: str, tmp_path: Path
) -> None:
    """A missing keying record does not stop the audit: events are appended, sealed with the
    key, and verify keeps reporting the missing record."""
    store = open_store(audit_url, TEST_KEY)
    store.append(records(2))
    store.close()
    store = open_store(tampered(audit_url, tmp_path, "DELETE FROM audit_keying"), TEST_KEY)
    try:
        assert [e.seq for e in store.append(records(2, start=5))] == [3, 4]
        result = store.verify()
    finally:
        store.close()
    assert result.problems == ("the store's keying record is missing (deleted outside Riposte)",)


def test_appending_without_a_head_table_is_unavailable_in_words(
    audit_url: str, tmp_path: Path
) -> None:
    """With the head table dropped there is nothing to extend: append is Unavailable, in words."""
    open_store(audit_url, TEST_KEY).close()
    store = open_store(dropped(audit_url, tmp_path, "audit_head"), TEST_KEY)
    try:
        with pytest.raises(Unavailable, match="has no chain head"):
            store.append(records(1))
    finally:
        store.close()


@pytest.fixture
def bare_role(postgres_url: str) -> Iterator[str]:
    """A migrated store and the URL of a login role with no privilege on it; dropped after."""
    open_store(postgres_url, TEST_KEY).close()
    with login_role(postgres_url) as url:
        yield url


def test_a_postgres_role_without_grants_is_unavailable_in_words(bare_role: str) -> None:
    """Opening the store as a role that may read nothing is Unavailable naming the privilege,
    not a psycopg error."""
    with pytest.raises(Unavailable) as caught:
        open_store(bare_role, TEST_KEY)
    message = str(caught.value)
    assert "permission denied for table schema_version" in message
    assert "grant-writer.sql" in message


def test_a_postgres_role_that_may_only_read_cannot_append_and_says_why(
    bare_role: str, postgres_url: str
) -> None:
    """A read-only role opens and queries the store; its append is Unavailable, in words."""
    role = bare_role.split("//", 1)[1].split("@", 1)[0]
    with psycopg.connect(postgres_url, autocommit=True) as owner:
        owner.execute(sql.SQL(READ_ONLY).format(sql.Identifier(role)))
    store = open_store(bare_role, TEST_KEY)
    try:
        assert store.query(AuditFilter()) == []
        with pytest.raises(Unavailable, match="permission denied for table audit_head"):
            store.append(records(1))
        assert store.verify().ok
    finally:
        store.close()
