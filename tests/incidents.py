"""Waits the incident tests share."""

from __future__ import annotations

from riposte.incidents.models import IncidentView
from riposte.incidents.service import IncidentService
from tests.eventually import eventually


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
