"""`riposte demo`: replay both incidents against the demo tenant and show every mode at work.

It uses the dev stack of the data dir if one runs, and otherwise starts one for the replay. The
alerts come from `demo_alerts.json`, given fresh ids each run so that every replay responds, and
moved in time so that each incident's last alert is now: the demo tenant's seed (the attacker's
authenticator on ben@, the app adele@ consented) is dated from now, and the actions that look
for what the attacker set up count back from each alert's time. An approver ("demo-admin")
approves the hijacked accounts' containment, but rejects disabling adele@'s sign-in (she is
presenting to the board; the password reset and the clean-up suffice); everything else follows
its policy's mode.
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

from riposte.actions.payloads import ActionName
from riposte.alerts import Alert
from riposte.cli.responses import render_response
from riposte.response import ActionState, Decision, ResponseView
from riposte.service import ResponseService, connect, read_stack
from riposte.settings import Settings

APPROVER = "demo-admin"
APPROVE_USERS = ("ben@contoso.com", "adele@contoso.com")
KEEP_SIGNED_IN = {"adele@contoso.com": "presenting to the board today; the reset suffices"}
UNSETTLED = (ActionState.PLANNED,)


def demo_alerts(run: str, now: datetime) -> list[Alert]:
    """The demo's alerts with fresh ids, each incident (alerts of one day) ending at `now`."""
    data = json.loads(resources.files("riposte").joinpath("demo_alerts.json").read_text())
    alerts = [Alert.model_validate({**a, "id": f"{a['id']}-{run}"}) for a in data]
    last: dict[date, datetime] = {}
    for alert in alerts:
        day = alert.time.date()
        last[day] = max(last.get(day, alert.time), alert.time)
    return [a.model_copy(update={"time": a.time + (now - last[a.time.date()])}) for a in alerts]


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
        run = time.strftime("%H%M%S")
        alerts = demo_alerts(run, datetime.now(UTC))
        print(f"Replaying {len(alerts)} alerts from both incidents...\n", flush=True)
        ids = [(await service.submit(alert)).response_id for alert in alerts]
        views = [await settled(service, rid) for rid in ids]
        for view in views:
            await decide_as_admin(service, view)
        for rid in ids:
            print(render_response(await settled(service, rid)), end="\n\n")
        states = [a.state.value for rid in ids for a in (await service.view(rid)).actions]
        summary = {s: states.count(s) for s in sorted(set(states))}
        print("Outcome:", ", ".join(f"{n} {s}" for s, n in summary.items()))
        print("Audit trail: riposte audit --format table   |   verify: riposte audit verify")
    return 0


async def decide_as_admin(service: ResponseService, view: ResponseView) -> None:
    user = view.alert.entities.user
    if user not in APPROVE_USERS:
        return
    for action in view.actions:
        if action.state is not ActionState.PENDING_APPROVAL:
            continue
        keep = KEEP_SIGNED_IN.get(user, "") if action.action is ActionName.DISABLE_SIGN_IN else ""
        await service.decide(
            Decision(
                action_id=action.action_id,
                approve=not keep,
                by=APPROVER,
                comment="" if keep else "confirmed compromise",
                reason=keep,
            )
        )
