"""`riposte demo`: replay both incidents against the demo tenant and show every mode at work.

It uses the dev stack of the data dir if one runs, and otherwise starts one for the replay. The
alerts come from `demo_alerts.json`, given fresh ids each run so that every replay responds.
An approver ("demo-admin") approves the hijacked account's containment and rejects the
response to a user who turns out to be travelling; everything else follows its policy's mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from importlib import resources

from temporalio.client import Client

from riposte.alerts import Alert
from riposte.cli.responses import render_response
from riposte.response import ActionState, Decision, ResponseView
from riposte.service import ResponseService, connect, read_stack
from riposte.settings import Settings

APPROVER = "demo-admin"
APPROVE_USER = "ben@contoso.com"
REJECT_USER = "adele@contoso.com"
UNSETTLED = (ActionState.PLANNED,)


def demo_alerts(run: str) -> list[Alert]:
    data = json.loads(resources.files("riposte").joinpath("demo_alerts.json").read_text())
    return [Alert.model_validate({**a, "id": f"{a['id']}-{run}"}) for a in data]


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
        alerts = demo_alerts(run)
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
    if user not in (APPROVE_USER, REJECT_USER):
        return
    for action in view.actions:
        if action.state is not ActionState.PENDING_APPROVAL:
            continue
        approve = user == APPROVE_USER
        await service.decide(
            Decision(
                action_id=action.action_id,
                approve=approve,
                by=APPROVER,
                comment="confirmed compromise" if approve else "",
                reason="" if approve else "user confirmed the sign-in while travelling",
            )
        )
