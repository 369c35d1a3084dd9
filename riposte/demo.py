"""`riposte demo`: replay both seed incidents as they unfolded, and print them as campaigns.

It uses the dev stack of the data dir if one runs, and otherwise starts one for the replay. The
alerts come from `demo_timeline.json` in waves: seed 1 (accounts A and B, then C, then D and E,
then A again, and ben@'s phishing surge, from one attacker over three days) and seed 2 (eleven
model breaches from one VPN device). Each alert gets a fresh id per run so that every replay
responds. Whatever still waits for a human after a wave is approved by "demo-admin" with one
decision per incident; the summary counts those decisions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from importlib import resources

from temporalio.client import Client

from riposte.alerts import Alert
from riposte.incidents.models import IncidentView
from riposte.incidents.operations import decide_all
from riposte.model import Frozen
from riposte.response import ActionState, ResponseView
from riposte.service import ResponseService, connect, read_stack
from riposte.settings import Settings

APPROVER = "demo-admin"
UNSETTLED = (ActionState.PLANNED,)
ESCALATION_GRACE = 3.0  # seconds a pending action is given to be escalated before a human decides


class Wave(Frozen):
    label: str
    alerts: tuple[Alert, ...]


def demo_alerts(run: str, now: datetime) -> list[Alert]:
    """The earlier, shorter replay of both incidents (`demo_alerts.json`; backtests use it),
    with fresh ids, each incident (alerts of one day) ending at `now`."""
    data = json.loads(resources.files("riposte").joinpath("demo_alerts.json").read_text())
    alerts = [Alert.model_validate({**a, "id": f"{a['id']}-{run}"}) for a in data]
    last: dict[date, datetime] = {}
    for alert in alerts:
        day = alert.time.date()
        last[day] = max(last.get(day, alert.time), alert.time)
    return [a.model_copy(update={"time": a.time + (now - last[a.time.date()])}) for a in alerts]


def demo_waves(run: str, now: datetime) -> list[Wave]:
    """The timeline's waves with fresh ids, each seed incident moved in time so that its last
    alert is `now` (the demo tenant's seed is dated from now) and its days keep their spacing."""
    data = json.loads(resources.files("riposte").joinpath("demo_timeline.json").read_text())
    waves = [
        Wave(
            label=wave["label"],
            alerts=tuple(
                Alert.model_validate({**a, "id": f"{a['id']}-{run}"}) for a in wave["alerts"]
            ),
        )
        for wave in data
    ]
    last: dict[int, datetime] = {}  # seed incidents are years apart
    for alert in (a for w in waves for a in w.alerts):
        last[alert.time.year] = max(last.get(alert.time.year, alert.time), alert.time)
    return [
        w.model_copy(
            update={
                "alerts": tuple(
                    a.model_copy(update={"time": a.time + (now - last[a.time.year])})
                    for a in w.alerts
                )
            }
        )
        for w in waves
    ]


@contextlib.asynccontextmanager
async def stack_for(settings: Settings) -> AsyncIterator[Client]:
    """The running dev stack's client, or a dev stack started for the demo."""
    if read_stack(settings):
        yield await connect(settings)
        return
    from riposte.stack import run_dev_stack

    print("No dev stack runs from this data dir; starting one for the demo.", flush=True)
    stop = asyncio.Event()
    task = asyncio.create_task(run_dev_stack(settings, stop))
    try:
        for _ in range(600):
            if read_stack(settings) or task.done():
                break
            await asyncio.sleep(0.1)
        if task.done():
            await task  # surfaces why it could not start
        yield await connect(settings)
    finally:
        stop.set()
        await task


async def settled(service: ResponseService, response_id: str) -> ResponseView:
    """Wait until no action of the response is still being planned or carried out."""
    view = await service.view(response_id)
    for _ in range(300):
        planned = bool(view.matched or view.no_match_reason)
        if planned and not any(a.state in UNSETTLED for a in view.actions):
            return view
        await asyncio.sleep(0.1)
        view = await service.view(response_id)
    return view


async def run_demo(settings: Settings) -> int:
    async with stack_for(settings) as client:
        service = ResponseService(client, settings.task_queue, settings.incidents)
        waves = demo_waves(time.strftime("%H%M%S"), datetime.now(UTC))
        total = sum(len(w.alerts) for w in waves)
        print(
            f"Replaying {total} alerts of the two seed incidents, as they unfolded...", flush=True
        )
        decisions: dict[str, int] = {}
        contained: dict[str, str] = {}  # account or device -> the wave that contained it
        ids: list[str] = []
        for wave in waves:
            print(f"\n== {wave.label}", flush=True)
            wave_ids = [(await service.submit(a)).response_id for a in wave.alerts]
            ids += wave_ids
            for rid in wave_ids:
                await settled(service, rid)
            for incident_id in await still_waiting(service, ids):
                decided = await decide_all(
                    service,
                    await service.incidents.view(incident_id),
                    approve=True,
                    by=APPROVER,
                    comment="demo: confirmed compromise",
                )
                decisions[incident_id] = decisions.get(incident_id, 0) + 1
                print(f"   {APPROVER} approved {decided.decided} actions of {incident_id} at once")
            for rid in wave_ids:
                view = await settled(service, rid)
                print("   " + outcome_line(view))
                who = view.alert.entities.user or view.alert.entities.device or ""
                if who and is_contained(view):
                    contained.setdefault(who, wave.label.split(":")[0])
        print("\nIncidents:")
        for incident in await campaign_incidents(service, ids):
            print(incident_summary(incident, contained, decisions.get(incident.incident_id, 0)))
        print("\nNarrative: riposte incident show ID   |   audit: riposte audit --format table")
    return 0


async def still_waiting(service: ResponseService, ids: list[str]) -> list[str]:
    """The incidents with actions still pending once escalations have had time to land."""
    deadline = asyncio.get_running_loop().time() + ESCALATION_GRACE
    while True:
        views = [await service.view(rid) for rid in ids]
        waiting = sorted(
            {
                v.incident_id
                for v in views
                if v.incident_id and any(a.state is ActionState.PENDING_APPROVAL for a in v.actions)
            }
        )
        if not waiting or asyncio.get_running_loop().time() > deadline:
            return waiting
        await asyncio.sleep(0.2)


async def campaign_incidents(service: ResponseService, ids: list[str]) -> list[IncidentView]:
    found = {i.incident_id: i for i in await service.incidents.list(limit=1000)}
    mine = [i for i in found.values() if set(i.responses) & set(ids)]
    return sorted(mine, key=lambda i: i.opened)


def is_contained(view: ResponseView) -> bool:
    return any(a.state is ActionState.EXECUTED for a in view.actions)


def outcome_line(view: ResponseView) -> str:
    alert = view.alert
    who = alert.entities.user or alert.entities.device or alert.entities.ip or "-"
    modes = {m.name: m.mode for m in view.matched}
    escalated = any(modes.get(a.policy) not in (None, a.mode) for a in view.actions)
    states = ", ".join(f"{a.action.value} {a.state.value}" for a in view.actions) or "no action"
    note = " (escalated by its incident)" if escalated else ""
    return f"{alert.time:%a %H:%M}  {who:<18} {alert.name[:52]:<52} {states}{note}"


def incident_summary(incident: IncidentView, contained: dict[str, str], decisions: int) -> str:
    members = (*incident.accounts, *incident.devices)
    when = ", ".join(f"{m} ({contained.get(m, 'not contained')})" for m in members)
    own = [r for r in incident.responses if r.startswith("riposte:")]
    lines = [
        f"- {incident.incident_id}: {incident.alerts} alerts from "
        f"{', '.join((*incident.attacker_ips, *incident.asns)) or '-'}",
        f"  contained: {when or '-'}",
        f"  incident responses: {len(own)}; escalations: "
        f"{', '.join(e.by_policy for e in incident.escalations) or 'none'}",
        f"  human decisions: {decisions}",
    ]
    return "\n".join(lines)
