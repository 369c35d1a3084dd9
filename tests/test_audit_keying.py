"""The keyed chain in use: the key file, `audit checkpoint` and `audit verify --checkpoint`,
migrating an unkeyed store, and the store's file modes."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import psycopg
import pytest

from riposte.audit import chain
from riposte.audit.key import audit_key
from riposte.audit.schema import Backend, migrations
from riposte.audit.store import open_configured, open_store
from riposte.cli import run
from riposte.settings import Settings
from riposte.stack import free_port, temporal_dev_server
from tests.plugins.audit import TEST_KEY, records
from tests.test_audit_verify import tampered

SQLITE_PREFIX = "sqlite:///"


def test_a_writer_makes_a_0600_key_file_once(tmp_path: Path) -> None:
    """The first writer start creates DATA_DIR/audit.key with mode 0600; later ones reuse it."""
    settings = Settings(data_dir=tmp_path / "data")
    assert audit_key(settings, create=False) is None
    first = audit_key(settings, create=True)
    path = tmp_path / "data" / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first == audit_key(settings, create=True)
    assert first is not None and first.secret not in repr(first).encode()


def test_the_audit_store_file_is_0600(tmp_path: Path) -> None:
    """audit.db (and its WAL files) are created readable by their owner only."""
    store = open_configured(Settings(data_dir=tmp_path))
    store.append(records(1))
    try:
        for path in tmp_path.glob("audit.db*"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        store.close()


def test_checkpoint_then_verify_against_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`audit checkpoint` prints a signed head; verify passes against it, and fails (exit 1, in
    words) once the tail is cut off behind the store's back."""
    monkeypatch.delenv("RIPOSTE_AUDIT_URL", raising=False)
    data = tmp_path / "data"
    store = open_configured(Settings(data_dir=data))
    store.append(records(5))
    store.close()
    assert run(["audit", "checkpoint", "--data-dir", str(data)]) == 0
    line = capsys.readouterr().out
    head = json.loads(line)
    assert (head["seq"], head["count"]) == (5, 5)
    assert head["signature"].startswith("hmac-sha256:")
    saved = tmp_path / "checkpoint.json"
    saved.write_text(line)
    assert run(["audit", "verify", "--data-dir", str(data), "--checkpoint", str(saved)]) == 0
    assert "matches the checkpoint at seq 5" in capsys.readouterr().out
    copy = tampered(
        f"sqlite:///{data / 'audit.db'}", tmp_path, "DELETE FROM audit_events WHERE seq = 5"
    )
    (data / "audit.db").unlink()
    Path(copy.removeprefix(SQLITE_PREFIX)).rename(data / "audit.db")
    assert run(["audit", "verify", "--data-dir", str(data), "--checkpoint", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "does NOT verify" in out and "shorter than the checkpoint" in out


def test_a_checkpoint_file_that_is_not_one_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A checkpoint file holding something else is refused in words with exit 2."""
    monkeypatch.delenv("RIPOSTE_AUDIT_URL", raising=False)
    open_configured(Settings(data_dir=tmp_path)).close()
    bogus = tmp_path / "cp.json"
    bogus.write_text('{"seq": "many"}')
    assert run(["audit", "verify", "--data-dir", str(tmp_path), "--checkpoint", str(bogus)]) == 2
    assert "not a Riposte audit checkpoint" in capsys.readouterr().err


def test_verify_without_a_key_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With neither RIPOSTE_AUDIT_KEY nor audit.key, verify exits 1 saying where the key goes."""
    monkeypatch.delenv("RIPOSTE_AUDIT_URL", raising=False)
    monkeypatch.delenv("RIPOSTE_AUDIT_KEY", raising=False)
    assert run(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    assert "no audit key" in capsys.readouterr().err


def _legacy(url: str, count: int) -> None:
    """A store as Riposte wrote it before 0002: schema 1, an unkeyed chain of `count` events."""
    first = migrations(Backend.SQLITE if url.startswith(SQLITE_PREFIX) else Backend.POSTGRES)[0]
    _, events = chain.extend(records(count), {}, 0, chain.GENESIS_HASH)
    columns = [c for c in chain.COLUMNS if c != "incident_id"]  # 0005 added it
    rows = [tuple(chain.row_of(e)[c] for c in columns) for e in events]
    insert = f"INSERT INTO audit_events ({', '.join(columns)}) VALUES "
    if url.startswith(SQLITE_PREFIX):
        path = Path(url.removeprefix(SQLITE_PREFIX))
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as raw:
            raw.execute(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)"
            )
            raw.executescript(first.sql)
            raw.execute("INSERT INTO schema_version VALUES (1, 'then')")
            raw.executemany(insert + f"({', '.join('?' for _ in columns)})", rows)
            raw.execute("UPDATE audit_head SET seq = ?, hash = ?", (count, events[-1].hash))
        return
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz "
            "NOT NULL DEFAULT now())"
        )
        conn.execute(first.sql.encode())
        conn.execute("INSERT INTO schema_version (version) VALUES (1)")
        marks = ", ".join("%s" for _ in columns)
        with conn.cursor() as cursor:
            cursor.executemany((insert + f"({marks})").encode(), rows)
        conn.execute("UPDATE audit_head SET seq = %s, hash = %s", (count, events[-1].hash))


def test_an_unkeyed_store_is_migrated_and_its_prefix_reported(audit_url: str) -> None:
    """A store from before the keyed chain opens, keeps verifying its old events as unkeyed
    (and says so), and seals every new event with the key."""
    _legacy(audit_url, 4)
    store = open_store(audit_url, TEST_KEY)
    try:
        assert store.verify().ok
        new = store.append(records(3, start=10))
        result = store.verify()
    finally:
        store.close()
    assert (result.ok, result.events, result.keyed_from) == (True, 7, 5)
    assert result.notes[0].startswith("seqs 1-4 were written before the chain was keyed")
    assert new[0].seq == 5
    assert new[0].hash == chain.content_hash(chain.row_of(new[0]), TEST_KEY)


async def test_the_dev_stack_temporal_database_is_0600(tmp_path: Path) -> None:
    """`riposte dev`'s Temporal server keeps its SQLite file readable by its owner only."""
    async with temporal_dev_server(tmp_path, free_port(17233), free_port(18233)):
        assert stat.S_IMODE((tmp_path / "temporal.db").stat().st_mode) == 0o600
