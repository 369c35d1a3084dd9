"""Incident-scope policies: the language, `policy check` of their examples, `policy test` growth."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from riposte.cli import run
from tests.incident_policies import CAMPAIGN, TAKEOVER
from tests.plugins.temporal import write_policies
from tests.responses import takeover_alert


def alert_json(user: str, **fields: object) -> dict[str, object]:
    return takeover_alert(f"{user}@contoso.com", **fields).model_dump(mode="json")


def campaign_folder(tmp_path: Path, extra: str = "") -> Path:
    return write_policies(
        tmp_path / "policies",
        {"m365-account-takeover": TAKEOVER, "m365-campaign": CAMPAIGN + extra},
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("scope: incident\n", "needs match.incident"),
        ("match: {source: darktrace, incident: {within: 1h}}\n", "needs a count"),
        ("match: {source: darktrace, incident: {accounts: 'at least 2'}}\n", "not a whole number"),
        ("escalate: {mode: autonomus, policies: [x]}\n", "did you mean"),
    ],
)
def test_policy_check_names_what_is_wrong_with_an_incident_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """A wrong incident-scope policy is reported as FILE:LINE: message, naming the fix."""
    base = "name: bad\nmatch: {source: darktrace}\nactions: [revoke_sessions]\n"
    overrides = {k.split(":")[0] for k in text.splitlines()}
    body = "".join(line + "\n" for line in base.splitlines() if line.split(":")[0] not in overrides)
    if "scope" not in overrides:
        body += "scope: incident\n"
    folder = write_policies(tmp_path / "policies", {"bad": body + text})
    assert run(["policy", "check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "bad.yaml:" in out and message in out


def test_policy_check_runs_incident_examples_as_lists_of_alerts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An incident-scope example is one incident's alerts: two accounts match the campaign,
    one account twice does not, and a wrong expectation is reported at its line."""
    two = [alert_json("adele"), alert_json("ben")]
    one = [alert_json("adele"), alert_json("adele")]
    examples = {"examples": {"match": [two], "no_match": [one]}}
    folder = campaign_folder(
        tmp_path, json.dumps(examples)[1:-1].replace('"examples": ', "examples: ")
    )
    assert run(["policy", "check", str(folder)]) == 0, capsys.readouterr().out
    wrong = {"examples": {"match": [one]}}
    folder = campaign_folder(tmp_path / "wrong", "examples: " + json.dumps(wrong["examples"]))
    assert run(["policy", "check", str(folder)]) == 1
    assert "examples.match[0]: should match but does not" in capsys.readouterr().out


def test_policy_test_shows_how_an_incident_grows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`policy test` on three alerts from one IP shows one incident growing, the campaign
    firing at the second account, and the takeover's mode escalated from then on, the first
    alert's too: its actions still wait for approval (4 h) when the campaign fires."""
    alerts = tmp_path / "alerts.ndjson"
    alerts.write_text("\n".join(json.dumps(alert_json(u)) for u in ("adele", "ben", "chris")))
    folder = campaign_folder(tmp_path)
    assert run(["policy", "test", str(alerts), "--policies", str(folder), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    steps = [a["incident"] for a in out["alerts"]]
    assert [s["incident_id"] for s in steps] == ["ip:198.51.100.7:1"] * 3
    assert [s["accounts"] for s in steps] == [1, 2, 3]
    assert not steps[0]["escalations"] and steps[1]["escalations"][0]["mode"] == "autonomous"
    modes = [a["actions"][0]["mode"] for a in out["alerts"]]
    assert modes == ["autonomous", "autonomous", "autonomous"]
    [incident] = out["incidents"]
    assert incident["alerts"] == 3 and incident["attacker_ips"] == ["198.51.100.7"]
    assert run(["policy", "test", str(alerts), "--policies", str(folder)]) == 0
    assert "escalates m365-account-takeover to autonomous" in capsys.readouterr().out


def test_policy_test_leaves_an_expired_request_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first account's request has expired (4 h) when the second account fires the
    campaign five hours later: it stays human-confirm; the second is escalated."""
    first = takeover_alert("adele@contoso.com")
    later = takeover_alert("ben@contoso.com", time=first.time + timedelta(hours=5))
    alerts = tmp_path / "alerts.ndjson"
    alerts.write_text("\n".join(a.model_dump_json() for a in (first, later)))
    folder = campaign_folder(tmp_path)
    assert run(["policy", "test", str(alerts), "--policies", str(folder), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [a["actions"][0]["mode"] for a in out["alerts"]] == ["human-confirm", "autonomous"]
