"""`riposte policy backtest` on alert files: the report, --against changes, budgets, bad input."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from riposte.alerts import Alert
from riposte.audit.events import AuditKind, AuditRecord
from riposte.audit.received import received_detail, summary
from riposte.audit.store import open_store
from riposte.cli import run
from riposte.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
DEMO = ROOT / "riposte" / "demo_alerts.json"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alerts"


def backtest(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[dict[str, Any], str]:
    """Run the command with --format json; its report and its stderr."""
    code = run(["policy", "backtest", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report, err


def edited(tmp_path: Path, policy: str, old: str, new: str) -> Path:
    """A copy of the shipped policies with one edit in one file."""
    folder = tmp_path / "edited"
    shutil.copytree(POLICIES, folder)
    path = folder / f"{policy}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return folder


def test_the_demo_alerts_report_per_policy_in_the_design_shape(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The JSON holds the alert count and, per policy, matched, actions by kind and targets."""
    report, _ = backtest(capsys, "--policies", str(POLICIES), "--alerts", str(DEMO))
    assert report["alerts"] == 7
    assert "changed" not in report
    takeover = report["policies"]["m365-account-takeover"]
    assert takeover["matched"] == 3
    assert takeover["actions"] == {
        "delete_inbox_rules": 2,
        "disable_sign_in": 2,
        "force_password_change": 2,
        "quarantine_mail": 2,
        "remove_auth_methods": 2,
        "revoke_app_consents": 2,
        "revoke_sessions": 2,
    }
    assert takeover["targets"] == ["adele@contoso.com", "ben@contoso.com"]
    assert takeover["excluded"] == 7 and takeover["excluded_targets"] == ["breakglass@contoso.com"]
    sign_ins = report["policies"]["m365-attacker-sign-ins"]
    assert sign_ins["actions"] == {"block_sign_in_from": 3}  # ben@, adele@ and breakglass@'s
    assert sign_ins["targets"] == ["198.51.100.7"]
    network = report["policies"]["network-lateral-movement"]
    assert network["by_mode"] == {"autonomous": {"block_ports": 2, "enforce_pattern_of_life": 2}}
    assert network["targets"] == ["10.8.0.25"] and network["excluded"] == 2


def test_a_raised_severity_floor_lists_exactly_the_alerts_it_loses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Raising the takeover floor to critical loses exactly the two high-severity takeovers."""
    policies = edited(tmp_path, "m365-account-takeover", '">= high"', '">= critical"')
    report, _ = backtest(
        capsys, "--policies", str(policies), "--against", str(POLICIES), "--alerts", str(DEMO)
    )
    assert [c["alert"] for c in report["changed"]] == ["darktrace:dt-30960", "darktrace:dt-30961"]
    for changed in report["changed"]:
        [change] = changed["changes"]
        assert change["policy"] == "m365-account-takeover"
        assert change["kind"] == "lost_match"
        assert change["reason"] == "severity high is not >= critical"


def test_a_new_exclusion_lists_exactly_the_alerts_whose_actions_it_cancels(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Excluding ben@ changes only ben's takeover, whose actions are now excluded."""
    policies = edited(
        tmp_path,
        "m365-account-takeover",
        "users: [breakglass@contoso.com]",
        "users: [breakglass@contoso.com, ben@contoso.com]",
    )
    report, _ = backtest(
        capsys, "--policies", str(policies), "--against", str(POLICIES), "--alerts", str(DEMO)
    )
    [changed] = report["changed"]
    assert changed["alert"] == "darktrace:dt-30960"
    [change] = changed["changes"]
    assert change["kind"] == "actions"
    assert (
        "disable_sign_in ben@contoso.com now excluded: policy m365-account-takeover"
        in (change["reason"])
    )
    assert report["policies"]["m365-account-takeover"]["targets"] == ["adele@contoso.com"]


def scans(count: int, start: datetime, step: timedelta) -> list[dict[str, Any]]:
    return [
        {
            "id": f"scan-{n}",
            "source": "darktrace",
            "name": "Device / Network Scan",
            "severity": "high",
            "score": 0.8,
            "time": (start + n * step).isoformat(),
            "entities": {"ip": f"10.8.1.{n + 1}"},
        }
        for n in range(count)
    ]


def test_budget_hours_are_reported_where_autonomous_actions_would_wait(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Fifteen autonomous blocks in one hour trip the per-action budget of 10 in that hour only."""
    start = datetime(2021, 9, 14, 2, 0, tzinfo=UTC)
    burst = scans(15, start, timedelta(minutes=2))
    later = scans(5, start + timedelta(hours=5), timedelta(minutes=1))
    for n, alert in enumerate(later):
        alert["id"] = f"later-{n}"
    path = tmp_path / "scans.ndjson"
    path.write_text("".join(json.dumps(a) + "\n" for a in burst + later))
    report, _ = backtest(capsys, "--policies", str(POLICIES), "--alerts", str(path))
    assert report["budget_hours"] == [
        {"hour": "2021-09-14T02:00Z", "action": "block_ports", "deferred": 5},
        {"hour": "2021-09-14T02:00Z", "action": "enforce_pattern_of_life", "deferred": 5},
    ]
    assert report["policies"]["network-lateral-movement"]["budget_hours"] == ["2021-09-14T02:00Z"]


def test_bad_values_name_their_line_and_the_rest_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A broken line and a non-alert are named FILE:LINE on stderr; the good alerts still count."""
    alerts = json.loads(DEMO.read_text())
    path = tmp_path / "mixed.ndjson"
    lines = [
        json.dumps(alerts[0]),
        '{"id": "broken", ',
        '{"hello": "world"}',
        json.dumps(alerts[1]),
    ]
    path.write_text("\n".join(lines) + "\n")
    report, err = backtest(capsys, "--alerts", str(path), "--policies", str(POLICIES))
    assert f"{path}:2: malformed JSON" in err
    assert f"{path}:3: not an alert" in err
    assert report["alerts"] == 2 and report["bad_input"] == 2


def test_vendor_files_in_every_adapter_format_are_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Sentinel, Darktrace arrays, Defender alerts_v2 and a pretty-printed native alert replay."""
    native = tmp_path / "native.json"
    native.write_text(json.dumps(json.loads(DEMO.read_text())[2], indent=2))
    sentinel = json.loads(
        (FIXTURES / "sentinel" / "azure-rest-api-specs-Incidents_Get.json").read_text()
    )
    incident = tmp_path / "sentinel.json"
    incident.write_text(json.dumps(sentinel["responses"]["200"]["body"]))
    files = [
        incident,
        FIXTURES / "darktrace" / "xsoar-fetch_breach.json",
        FIXTURES / "defender" / "graph-docs-alert-v2-example.json",
        native,
    ]
    report, err = backtest(capsys, "--policies", str(POLICIES), "--alerts", *map(str, files))
    assert err == ""
    assert report["alerts"] == 5
    assert report["policies"]["m365-account-takeover"]["matched"] == 1


def test_the_table_is_one_row_per_policy_and_action(capsys: pytest.CaptureFixture[str]) -> None:
    """The table names each policy with its matches, then a row per mode and action."""
    assert run(["policy", "backtest", "--policies", str(POLICIES), "--alerts", str(DEMO)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("7 alerts replayed, 0 matched no policy")
    assert "network-lateral-movement  3" in out
    assert "autonomous     block_ports" in out
    assert out.rstrip().endswith("(a backtest: nothing was changed)")


def test_a_policy_folder_with_errors_exits_1_naming_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A misspelled mode is reported as FILE:LINE and nothing is replayed."""
    policies = edited(tmp_path, "network-lateral-movement", "mode: autonomous", "mode: autonomus")
    code = run(["policy", "backtest", "--policies", str(policies), "--alerts", str(DEMO)])
    err = capsys.readouterr().err
    assert code == 1
    assert "network-lateral-movement.yaml:" in err and "autonomus" in err


CAMPAIGN = """\
name: m365-campaign
scope: incident
match:
  source: darktrace
  incident: {accounts: ">= 2", within: 72h}
mode: autonomous
actions: [revoke_sessions]
"""


def test_incident_scope_policies_fire_as_the_incident_grows_in_time_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The campaign fires once two accounts share the attacker's IP, then for each new account."""
    folder = tmp_path / "with-campaign"
    shutil.copytree(POLICIES, folder)
    (folder / "m365-campaign.yaml").write_text(CAMPAIGN)
    alerts = json.loads(DEMO.read_text())
    shuffled = tmp_path / "shuffled.json"
    shuffled.write_text(json.dumps(list(reversed(alerts))))
    report, _ = backtest(capsys, "--policies", str(folder), "--alerts", str(shuffled))
    campaign = report["policies"]["m365-campaign"]
    assert campaign["actions"] == {"revoke_sessions": 3}
    assert campaign["targets"] == ["adele@contoso.com", "ben@contoso.com", "chris@contoso.com"]
    assert campaign["excluded_targets"] == ["breakglass@contoso.com"]
    assert report["policies"]["m365-account-takeover"]["matched"] == 3


def seed_campaign(tmp_path: Path) -> Path:
    """The demo timeline's seed 1 (accounts A to E from one attacker, over three days)."""
    waves = json.loads((ROOT / "riposte" / "demo_timeline.json").read_text())
    alerts = [a for wave in waves for a in wave["alerts"] if a["time"].startswith("2021-")]
    path = tmp_path / "seed-1.ndjson"
    path.write_text("".join(json.dumps(a) + "\n" for a in alerts))
    return path


def test_the_shipped_campaign_escalates_the_takeover_from_the_second_account(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in the live engine, the takeovers are autonomous once the campaign fires on B's
    alert: B to E's as they arrive, and A's, still waiting for approval 28 minutes on, when the
    escalation reaches it. So they count against the budgets: with one per action an hour, B's
    actions (escalated with A's at 09:40) and E's (seven minutes after D's) would have waited."""
    monkeypatch.setenv("RIPOSTE_GUARDRAILS__BUDGET_PER_ACTION", "1")
    report, _ = backtest(
        capsys, "--policies", str(POLICIES), "--alerts", str(seed_campaign(tmp_path))
    )
    takeover = report["policies"]["m365-account-takeover"]
    assert takeover["matched"] == 5
    assert takeover["by_mode"] == {"autonomous": {action: 5 for action in takeover["actions"]}}
    assert takeover["budget_hours"] == ["2021-06-07T09:00Z", "2021-06-09T09:00Z"]
    assert {h["deferred"] for h in report["budget_hours"]} == {1}
    assert len(report["budget_hours"]) == 2 * len(takeover["actions"])


def test_an_escalation_reaches_only_the_actions_still_waiting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """With a 10-minute approval timeout, A's takeover has expired by the time B's alert fires
    the campaign 28 minutes later: it stays human-confirm, and B to E's are autonomous."""
    folder = tmp_path / "short-timeout"
    shutil.copytree(POLICIES, folder)
    takeover = folder / "m365-account-takeover.yaml"
    text = takeover.read_text()
    assert "approval: {timeout: 4h," in text
    takeover.write_text(text.replace("approval: {timeout: 4h,", "approval: {timeout: 10m,"))
    report, _ = backtest(
        capsys, "--policies", str(folder), "--alerts", str(seed_campaign(tmp_path))
    )
    by_mode = report["policies"]["m365-account-takeover"]["by_mode"]
    assert set(by_mode["autonomous"].values()) == {4}
    assert set(by_mode["human-confirm"].values()) == {1}


def test_under_the_kill_switch_the_campaign_escalates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With force_passive every action is passive, the escalated takeovers' too, as live."""
    monkeypatch.setenv("RIPOSTE_FORCE_PASSIVE", "true")
    report, _ = backtest(
        capsys, "--policies", str(POLICIES), "--alerts", str(seed_campaign(tmp_path))
    )
    assert report["policies"]["m365-campaign"]["matched"] == 1
    assert {mode for p in report["policies"].values() for mode in p["by_mode"]} == {"passive"}


def test_against_a_set_without_the_campaign_lists_the_escalated_takeovers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without the campaign the takeovers of B to E stay human-confirm: each is a mode change,
    and B's alert, whose arrival fires the campaign, its new match too."""
    without = tmp_path / "without-campaign"
    shutil.copytree(POLICIES, without)
    (without / "m365-campaign.yaml").unlink()
    report, _ = backtest(
        capsys,
        "--policies",
        str(POLICIES),
        "--against",
        str(without),
        "--alerts",
        str(seed_campaign(tmp_path)),
    )
    changed = {
        c["alert"]: [(x["policy"], x["kind"], x["reason"]) for x in c["changes"]]
        for c in report["changed"]
    }
    escalated = ("m365-account-takeover", "mode", "mode human-confirm -> autonomous")
    assert changed == {
        "darktrace:dt-30961": [
            escalated,
            ("m365-campaign", "new_match", "was: no such policy in that set"),
        ],
        "darktrace:dt-30970": [escalated],
        "darktrace:dt-30980": [escalated],
        "darktrace:dt-30981": [escalated],
    }


def test_without_an_audit_store_it_says_so_and_creates_none(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A backtest of a data dir with no audit store exits 2 and leaves the folder untouched."""
    data = tmp_path / "data"
    code = run(["policy", "backtest", "--policies", str(POLICIES), "--data-dir", str(data)])
    assert code == 2
    assert "no audit store" in capsys.readouterr().err
    assert not data.exists()


def test_the_audit_store_replays_kept_alerts_and_counts_older_events(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """alert_received events with their alert replay; ones written before are counted, skipped."""
    data = tmp_path / "data"
    store = open_store(Settings(data_dir=data).audit_store_url)
    now = datetime.now(UTC)
    alerts = [Alert.model_validate(a) for a in json.loads(DEMO.read_text())]
    records = [
        AuditRecord(
            id=f"r{n}/alert_received",
            time=now,
            kind=AuditKind.ALERT_RECEIVED,
            response_id=alert.key,
            alert_id=alert.id,
            detail=summary(alert) if n == 0 else received_detail(alert),
        )
        for n, alert in enumerate(alerts)
    ]
    store.append(records)
    store.close()
    report, _ = backtest(
        capsys, "--policies", str(POLICIES), "--data-dir", str(data), "--since", "1d"
    )
    assert report["alerts"] == 6 and report["skipped_events"] == 1
    assert report["policies"]["m365-suspicious-activity"]["matched"] == 0  # dt-30955 was first


def test_against_lists_the_alerts_an_incident_scope_policy_would_now_act_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Adding the campaign policy changes exactly the alerts whose arrival makes it fire."""
    folder, without = tmp_path / "with-campaign", tmp_path / "without-campaign"
    shutil.copytree(POLICIES, folder)
    (folder / "m365-campaign.yaml").write_text(CAMPAIGN)
    shutil.copytree(POLICIES, without)
    (without / "m365-campaign.yaml").unlink(missing_ok=True)  # shipped since; not in this set
    report, _ = backtest(
        capsys, "--policies", str(folder), "--against", str(without), "--alerts", str(DEMO)
    )
    changed = {c["alert"]: c["changes"] for c in report["changed"]}
    assert sorted(changed) == ["darktrace:dt-30960", "darktrace:dt-30961", "darktrace:dt-30962"]
    for changes in changed.values():
        assert [(c["policy"], c["kind"]) for c in changes] == [("m365-campaign", "new_match")]
        assert changes[0]["reason"] == "was: no such policy in that set"
