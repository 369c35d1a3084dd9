"""Waits the incident tests share."""

from __future__ import annotations

from riposte.incidents.models import IncidentView
from riposte.incidents.service import IncidentService
from riposte.response import ActionState, ResponseView
from riposte.service import ResponseService
from tests.eventually import eventually
from tests.responses import wait_for


async def incident_of(
    incidents: IncidentService, response_id: str, *, alerts: int = 1, within: float = 60.0
) -> IncidentView:
    """Poll until the response's incident holds at least `alerts` alerts."""

    async def incident() -> IncidentView | None:
        found = [i for i in await incidents.list() if response_id in i.responses]
        return found[0] if found else None

    found = await eventually(
        incident,
        until=lambda i: i is not None and i.alerts >= alerts,
        within=within,
        what=f"an incident of {alerts} alerts holding {response_id}",
    )
    assert found is not None
    return found


async def settle(service: ResponseService, ids: list[str]) -> None:
    """Wait until no response in `ids` still has an action in flight, so that no activity is
    cut off when the test's worker stops."""

    def done(view: ResponseView) -> bool:
        planned = bool(view.matched or view.no_match_reason)
        return planned and all(a.state is not ActionState.PLANNED for a in view.actions)

    for rid in ids:
        await wait_for(service, rid, done, within=120)
