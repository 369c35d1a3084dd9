"""`riposte audit` and `riposte audit verify`, run in-process through `riposte.cli.run`."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from riposte.audit.events import AuditEvent
from riposte.audit.key import AuditKey
from riposte.audit.store import open_store
from riposte.cli import run
from tests.plugins.audit import records


@pytest.fixture
def cli_store(
    audit_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyed_env: AuditKey
) -> tuple[str, list[str]]:
    """A store with six events, that `riposte audit` reaches: its URL and the data-dir option.

    The environment is how an operator points the CLI at PostgreSQL (RIPOSTE_AUDIT_URL).
    """
    monkeypatch.setenv("RIPOSTE_AUDIT_URL", audit_url)
    store = open_store(audit_url, keyed_env)
    store.append(records(6))
    store.close()
    return audit_url, ["--data-dir", str(tmp_path / "unused")]


def test_json_output_is_the_events_alone(
    cli_store: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--format json` prints only a JSON array of the matching audit events on stdout."""
    _, data_dir = cli_store
    code = run(["audit", "--format", "json", "--target", "10.8.0.25", *data_dir])
    out = capsys.readouterr().out
    events = [AuditEvent.model_validate(item) for item in json.loads(out)]
    assert code == 0
    assert [e.seq for e in events] == [2, 5]
    assert {e.target for e in events} == {"10.8.0.25"}


def test_filters_and_limit_reach_the_store(
    cli_store: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Time range, kind, actor, policy, response and limit all narrow what is printed."""
    _, data_dir = cli_store
    argv = ["audit", "--format", "json", *data_dir, "--since", "2021-06-09T09:01:00Z"]
    argv += ["--until", "2021-06-09T11:05:00+02:00", "--policy", "m365-account-takeover"]
    assert run(argv) == 0
    assert [e["seq"] for e in json.loads(capsys.readouterr().out)] == [3, 5]
    assert run(["audit", "--format", "json", *data_dir, "--kind", "approved", "--limit", "1"]) == 0
    assert [e["seq"] for e in json.loads(capsys.readouterr().out)] == [3]
    assert run(["audit", "--format", "json", *data_dir, "--response", "darktrace:dt-1"]) == 0
    assert [e["seq"] for e in json.loads(capsys.readouterr().out)] == [4, 5, 6]
    assert run(["audit", "--format", "json", *data_dir, "--actor", "soc.admin"]) == 0
    assert [e["seq"] for e in json.loads(capsys.readouterr().out)] == [3, 6]


def test_csv_output_has_a_header(
    cli_store: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--format csv` prints a header row and one row per event."""
    _, data_dir = cli_store
    assert run(["audit", "--format", "csv", "--action", "block_ports", *data_dir]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["seq"] for row in rows] == ["2", "5"]
    assert rows[0]["action"] == "block_ports"


def test_table_output_lists_events(
    cli_store: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The default table shows a header and one line per event."""
    _, data_dir = cli_store
    assert run(["audit", *data_dir]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("SEQ")
    assert len(lines) == 7


def test_verify_exits_0_on_an_intact_chain(
    cli_store: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """`riposte audit verify` says how many events verified and exits 0."""
    _, data_dir = cli_store
    assert run(["audit", "verify", *data_dir]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "audit chain verifies: 6 events"


def test_verify_exits_1_listing_problems(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    keyed_env: AuditKey,
) -> None:
    """An edited event in the default store under --data-dir makes verify exit 1 and name it."""
    monkeypatch.delenv("RIPOSTE_AUDIT_URL", raising=False)
    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}", keyed_env)
    store.append(records(4))
    store.close()
    with sqlite3.connect(tmp_path / "audit.db") as raw:
        raw.execute("DROP TRIGGER audit_events_no_update")
        raw.execute("UPDATE audit_events SET detail = 'nothing happened' WHERE seq = 2")
    assert run(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "does NOT verify" in out
    assert "seq 2: hash does not match its seal under the audit key" in out


def test_verify_creates_the_data_dir_and_an_empty_store(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    keyed_env: AuditKey,
) -> None:
    """With no store yet, the data dir and audit.db are created and zero events verify."""
    monkeypatch.delenv("RIPOSTE_AUDIT_URL", raising=False)
    data_dir = tmp_path / "fresh"
    assert run(["audit", "--data-dir", str(data_dir), "verify"]) == 0
    assert capsys.readouterr().out.startswith("audit chain verifies: 0 events")
    assert (data_dir / "audit.db").is_file()


def test_a_store_newer_than_the_code_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schema from a newer Riposte makes the command exit 1 with a plain message."""
    monkeypatch.delenv("RIPOSTE_AUDIT_URL", raising=False)
    open_store(f"sqlite:///{tmp_path / 'audit.db'}").close()
    with sqlite3.connect(tmp_path / "audit.db") as raw:
        raw.execute("INSERT INTO schema_version VALUES (999, 'later')")
    assert run(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    assert "newer than" in capsys.readouterr().err


def test_an_unreachable_postgres_fails_without_leaking_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PostgreSQL URL nobody answers exits 1 and the message never shows the password."""
    monkeypatch.setenv("RIPOSTE_AUDIT_URL", "postgresql://auditor:s3cret-pw@127.0.0.1:1/audit")
    assert run(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "127.0.0.1:1/audit" in err
    assert "s3cret-pw" not in err


def test_a_bad_time_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A --since that is not ISO 8601 is refused by the parser with exit code 2."""
    with pytest.raises(SystemExit) as caught:
        run(["audit", "--since", "yesterday-ish"])
    assert caught.value.code == 2
    assert "not an ISO 8601 time" in capsys.readouterr().err
