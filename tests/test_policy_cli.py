"""`riposte policy check` and `riposte policy test`: output, JSON, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from riposte.actions.catalogue import CATALOGUE
from riposte.cli import run

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alerts"
TAKEOVER_ALERT = {
    "id": "dt-30960",
    "source": "darktrace",
    "name": "SaaS::Compromise::Unusual Login and New Email Rule",
    "severity": "high",
    "score": 0.93,
    "time": "2021-06-09T09:12:00Z",
    "entities": {"user": "b.smith@contoso.com", "inbox_rules": ["."]},
}


def write_alert(tmp_path: Path, body: object) -> Path:
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(body))
    return path


def test_check_passes_the_shipped_policies(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped folder checks clean: exit 0 and a one-line summary."""
    assert run(["policy", "check", "--policies", str(POLICIES)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 5 policies (m365-account-takeover, m365-attacker-sign-ins,")
    assert "examples hold" in out


def test_check_prints_every_error_as_file_line_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Errors in two files are all printed, one FILE:LINE: message per line, and exit 1."""
    (tmp_path / "a.yaml").write_text("name: a\nmatch: {source: x, entities: [user]}\nmode: fast\n")
    (tmp_path / "b.yaml").write_text("name: b\nmatch: {source: x}\nactions: [block_outbund]\n")
    assert run(["policy", "check", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{tmp_path / 'a.yaml'}:1: missing required key 'actions'",
        f"{tmp_path / 'a.yaml'}:3: mode: unknown mode 'fast'; valid: passive, human-confirm,"
        " autonomous",
        f"{tmp_path / 'b.yaml'}:3: actions[0].name: unknown action 'block_outbund' (did you mean"
        " 'block_outbound'?); valid: " + ", ".join(CATALOGUE),
    ]


def test_check_reports_a_failing_example_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An example that should match but does not is an error at the example's line."""
    policy = (POLICIES / "network-lateral-movement.yaml").read_text()
    broken = policy.replace('"Device / Network Scan",\n', '"Device / Network Sweep",\n', 1)
    path = tmp_path / "network-lateral-movement.yaml"
    path.write_text(broken)
    assert run(["policy", "check", str(path)]) == 1
    [line] = capsys.readouterr().out.splitlines()
    number = (
        broken.splitlines().index(
            "    # An address inside the excluded range still matches;"
            " its actions are excluded, not dropped."
        )
        + 2
    )
    assert line.startswith(f"{path}:{number}: examples.match[2]: should match but does not")


def test_check_of_a_missing_path_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    """A path that does not exist is a usage error: exit 2."""
    assert run(["policy", "check", "/nonexistent/policies"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_policy_test_prints_the_plan_without_side_effects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table shows the matched policy, then each action with mode and target."""
    alert = write_alert(tmp_path, TAKEOVER_ALERT)
    assert run(["policy", "test", str(alert), "--policies", str(POLICIES)]) == 0
    out = capsys.readouterr().out
    assert "matched   m365-account-takeover (human-confirm, version " in out
    assert "darktrace:dt-30960:a1  disable_sign_in        b.smith@contoso.com  human-confirm" in out
    assert "nothing was changed" in out


def test_policy_test_marks_excluded_actions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Excluded actions are listed and marked with their reason."""
    body = TAKEOVER_ALERT | {"entities": {"user": "breakglass@contoso.com"}}
    assert (
        run(["policy", "test", str(write_alert(tmp_path, body)), "--policies", str(POLICIES)]) == 0
    )
    out = capsys.readouterr().out
    assert out.count("EXCLUDED: breakglass@contoso.com is a protected account") == 7


def test_policy_test_json_is_json_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json prints one JSON document: the alert, matched policies and actions."""
    sample = FIXTURES / "darktrace" / "xsoar-breach_details.json"
    code = run(
        [
            "policy",
            "test",
            str(sample),
            "--source-format",
            "darktrace",
            "--policies",
            str(POLICIES),
            "--format",
            "json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["response_id"] == "darktrace:dt-30859"
    assert [m["name"] for m in out["matched"]] == ["network-lateral-movement"]
    assert [(a["action"], a["target"], a["mode"]) for a in out["actions"]] == [
        ("block_ports", "192.168.1.6", "autonomous"),
        ("enforce_pattern_of_life", "192.168.1.6", "autonomous"),
    ]
    assert out["no_match_reason"] == ""


def test_policy_test_explains_no_match(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An alert no policy matches prints the closest policy and what it lacked."""
    body = TAKEOVER_ALERT | {"entities": {"ip": "198.51.100.7"}}
    assert (
        run(["policy", "test", str(write_alert(tmp_path, body)), "--policies", str(POLICIES)]) == 0
    )
    assert (
        "no policy matched: m365-account-takeover: alert lacks entity user"
        in capsys.readouterr().out
    )


def test_policy_test_refuses_malformed_json_with_where_it_broke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Malformed JSON is bad input: exit 2, naming the line and column."""
    path = tmp_path / "alert.json"
    path.write_text('{"id": "x",\n "source": }')
    assert run(["policy", "test", str(path), "--policies", str(POLICIES)]) == 2
    assert "line 2 column 12: malformed JSON" in capsys.readouterr().err


def test_policy_test_refuses_an_invalid_alert_with_the_field_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A native alert with a wrong field is bad input: exit 2 and the field's path."""
    body = TAKEOVER_ALERT | {"score": "very"}
    assert (
        run(["policy", "test", str(write_alert(tmp_path, body)), "--policies", str(POLICIES)]) == 2
    )
    assert "score: Input should be a valid number" in capsys.readouterr().err


def test_an_unknown_source_format_is_bad_usage() -> None:
    """argparse refuses a format outside the supported list with exit 2."""
    with pytest.raises(SystemExit) as exit_:
        run(["policy", "test", "-", "--source-format", "splunk"])
    assert exit_.value.code == 2


def test_policy_test_reads_stdin_in_a_real_process() -> None:
    """`riposte policy test -` reads the alert from stdin and exits 0 with JSON alone."""
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "riposte"),
            "policy",
            "test",
            "-",
            "--format",
            "json",
            "--policies",
            str(POLICIES),
        ],
        input=json.dumps(TAKEOVER_ALERT),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["actions"]) == 7


def test_a_reader_that_leaves_early_is_no_error() -> None:
    """`riposte policy backtest ... | head -c 16`: the closed pipe ends the command quietly
    with exit 0."""
    riposte = Path(sys.executable).parent / "riposte"
    demo_alerts = Path(__file__).parents[1] / "riposte" / "demo_alerts.json"
    done = subprocess.run(
        f"'{riposte}' policy backtest --alerts '{demo_alerts}' --format json | head -c 16; "
        'exit "${PIPESTATUS[0]}"',
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.startswith("{")
