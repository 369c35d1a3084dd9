"""Incidents on the real dev server: correlation, windows, concurrent joins, escalation."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

import riposte
from riposte.alerts import Alert
from riposte.cli import run
from riposte.response import ActionState
from riposte.settings import Guardrails, IncidentSettings
from tests.incidents import incident_of, settle
from tests.plugins.temporal import StackFactory
from tests.responses import (
    VPN_IP,
    all_in,
    network_policy,
    scan_alert,
    takeover_alert,
    takeover_policy,
    wait_for,
)


async def test_alerts_from_one_attacker_ip_become_one_incident(make_stack: StackFactory) -> None:
    """Alerts on different accounts from one public IP join one incident, which shows each
    response its incident id."""
    stack = await make_stack({"m365-account-takeover": takeover_policy("passive")})
    ids = [
        (await stack.service.submit(takeover_alert(user))).response_id
        for user in ("adele@contoso.com", "ben@contoso.com")
    ]
    incident = await incident_of(stack.service.incidents, ids[0], alerts=2)
    assert incident.key == "ip:198.51.100.7"
    assert set(incident.accounts) == {"adele@contoso.com", "ben@contoso.com"}
    assert incident.attacker_ips == ("198.51.100.7",)
    assert set(ids) <= set(incident.responses)
    view = await wait_for(stack.service, ids[1], all_in(ActionState.SIMULATED))
    assert view.incident_id == incident.incident_id
    assert await stack.service.incidents.view(incident.incident_id) == incident
    await settle(stack.service, ids)


async def test_a_vendor_incident_id_joins_alerts_from_different_ips(
    make_stack: StackFactory,
) -> None:
    """Two alerts carrying one Defender incident id join one incident even from two IPs."""
    stack = await make_stack({"m365-account-takeover": takeover_policy("passive")})
    first = takeover_alert(incident="28282")
    second = takeover_alert(
        "chris@contoso.com",
        incident="28282",
        entities={"user": "chris@contoso.com", "ip": "203.0.113.9", "asn": "AS64501"},
    )
    ids = [(await stack.service.submit(a)).response_id for a in (first, second)]
    incident = await incident_of(stack.service.incidents, ids[0], alerts=2)
    assert incident.key == "vendor:darktrace:28282"
    assert set(incident.attacker_ips) == {"198.51.100.7", "203.0.113.9"}
    assert set(ids) <= set(incident.responses)
    await settle(stack.service, ids)


async def test_an_alert_outside_the_window_opens_a_new_incident(
    make_stack: StackFactory,
) -> None:
    """An alert of the same key past the window opens the key's next incident; the first
    incident is closed and keeps its own alerts."""
    stack = await make_stack({"network-lateral-movement": network_policy("passive")})
    early = scan_alert()
    late = scan_alert().model_copy(update={"time": early.time + timedelta(hours=73)})
    first = (await stack.service.submit(early)).response_id
    one = await incident_of(stack.service.incidents, first)
    second = (await stack.service.submit(late)).response_id
    two = await incident_of(stack.service.incidents, second)
    assert one.key == two.key == f"target:{VPN_IP}"
    assert two.incident_id != one.incident_id
    assert (await stack.service.incidents.view(one.incident_id)).status.value == "closed"
    assert two.status.value == "open" and two.responses == (second,)
    await settle(stack.service, [first, second])


async def test_fifty_concurrent_alerts_give_one_incident_holding_fifty(
    make_stack: StackFactory, temporal_client: Client
) -> None:
    """Fifty alerts of one incident sent at once race into one incident workflow that holds
    all fifty (signal-with-start loses none)."""
    stack = await make_stack({"network-lateral-movement": network_policy("passive")})
    base = datetime(2023, 2, 14, 22, 41, tzinfo=UTC)
    alerts = [
        scan_alert().model_copy(update={"time": base + timedelta(minutes=n)}) for n in range(50)
    ]
    submissions = await asyncio.gather(*(stack.service.submit(a) for a in alerts))
    incident = await incident_of(stack.service.incidents, submissions[0].response_id, alerts=50)
    assert incident.alerts == 50
    assert set(incident.responses) == {s.response_id for s in submissions}
    query = f"WorkflowType = 'TrackIncident' AND TaskQueue = '{stack.settings.task_queue}'"
    assert len([wf async for wf in temporal_client.list_workflows(query)]) == 1
    await settle(stack.service, [s.response_id for s in submissions])


async def test_an_incident_past_its_history_bound_continues_as_new_keeping_everything(
    make_stack: StackFactory, temporal_client: Client
) -> None:
    """With a small history bound the incident workflow continues as new, and the new run still
    holds every alert and response of the incident."""
    stack = await make_stack(
        {"network-lateral-movement": network_policy("passive")},
        incidents=IncidentSettings(history_bound=10),
    )
    ids = []
    for _ in range(8):
        ids.append((await stack.service.submit(scan_alert())).response_id)
        await incident_of(stack.service.incidents, ids[0], alerts=len(ids))
    incident = await incident_of(stack.service.incidents, ids[0], alerts=8)
    assert set(incident.responses) == set(ids)
    query = f"WorkflowType = 'TrackIncident' AND TaskQueue = '{stack.settings.task_queue}'"
    runs = [wf async for wf in temporal_client.list_workflows(query)]
    assert len(runs) > 1 and len({wf.id for wf in runs}) == 1
    listed = [i.incident_id for i in await stack.service.incidents.list()]
    assert listed == [incident.incident_id]  # once, though its workflow has several runs
    await settle(stack.service, ids)


async def test_seed_twos_eleven_breaches_are_one_incident_with_one_rule_per_nsg(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """The VPN device's eleven model breaches (the demo's seed 2) join one incident, and their
    blocks share rules: each NSG that protects 10.8.0.25 holds one rule per block, not eleven."""
    timeline = json.loads((Path(riposte.__file__).parent / "demo_timeline.json").read_text())
    breaches = [Alert.model_validate(a) for a in timeline[-1]["alerts"]]
    assert len(breaches) == 11 and {a.entities.ip for a in breaches} == {VPN_IP}
    every_breach = network_policy("autonomous").replace(
        'name: ["Device / Suspicious SMB Scanning Activity", "Device / Network Scan",\n'
        '         "Device / Attack and Recon Tools", "Device / SMB Session Brute Force*"]',
        'name: "*"',
    )
    unlimited = Guardrails(budget_per_action=None, budget_total=None)
    stack = await make_stack({"network-lateral-movement": every_breach}, guardrails=unlimited)
    executed = all_in(ActionState.EXECUTED)
    first = (await stack.service.submit(breaches[0])).response_id
    await wait_for(stack.service, first, executed)
    rules = _riposte_rules(emulator_seam)
    assert {nsg: len(names) for nsg, names in rules.items()} == {"nsg-servers": 1, "nsg-vpn": 1}
    ids = [first, *[(await stack.service.submit(a)).response_id for a in breaches[1:]]]
    views = [await wait_for(stack.service, rid, executed) for rid in ids]
    assert all(len(v.actions) == 2 for v in views)
    incident = await incident_of(stack.service.incidents, ids[0], alerts=11)
    assert incident.key == f"target:{VPN_IP}" and set(incident.responses) == set(ids)
    assert {v.incident_id for v in views} == {incident.incident_id}
    assert _riposte_rules(emulator_seam) == rules  # ten more responses, no rule more
    await settle(stack.service, ids)


def _riposte_rules(seam: Any) -> dict[str, set[str]]:
    """The rules Riposte holds, by NSG (the seed holds none)."""
    held = {
        name: {r["name"] for r in nsg["security_rules"] if r["name"].startswith("riposte-")}
        for name, nsg in seam.state()["nsgs"].items()
    }
    return {name: names for name, names in held.items() if names}


async def test_the_incident_commands_list_and_tell_an_incident(
    make_stack: StackFactory,
    temporal_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`riposte incidents --format json` gives DESIGN's keys; `riposte incident show ID` tells
    the incident's accounts and its alerts; an unknown id is an error, not a traceback."""
    stack = await make_stack({"m365-account-takeover": takeover_policy("passive")})
    ids = [
        (await stack.service.submit(takeover_alert(user))).response_id
        for user in ("adele@contoso.com", "ben@contoso.com")
    ]
    incident = await incident_of(stack.service.incidents, ids[0], alerts=2)
    await settle(stack.service, ids)
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_client.service_client.config.target_host)
    monkeypatch.setenv("RIPOSTE_TASK_QUEUE", stack.settings.task_queue)
    data_dir = ["--data-dir", str(stack.settings.data_dir)]
    capsys.readouterr()

    assert await asyncio.to_thread(run, ["incidents", "--format", "json", *data_dir]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [i["incident_id"] for i in listed] == [incident.incident_id]
    keys = {"incident_id", "key", "status", "accounts", "devices", "attacker_ips", "alerts"}
    assert keys | {"responses"} <= set(listed[0])
    assert listed[0]["alerts"] == 2 and set(ids) <= set(listed[0]["responses"])
    assert listed[0]["attacker_ips"] == ["198.51.100.7"]

    assert await asyncio.to_thread(run, ["incident", "show", incident.incident_id, *data_dir]) == 0
    told = capsys.readouterr().out
    assert "adele@contoso.com" in told and "ben@contoso.com" in told and "198.51.100.7" in told
    show_json = ["incident", "show", incident.incident_id, "--format", "json", *data_dir]
    assert await asyncio.to_thread(run, show_json) == 0
    assert json.loads(capsys.readouterr().out)["incident_id"] == incident.incident_id

    unknown = ["incident", "show", "no-such-incident", *data_dir]
    assert await asyncio.to_thread(run, unknown) != 0
    assert "Traceback" not in capsys.readouterr().err
