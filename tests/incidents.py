"""Waits the incident tests share."""

from __future__ import annotations

import asyncio

from riposte.incidents.models import IncidentView
from riposte.incidents.service import IncidentService


async def incident_of(
    incidents: IncidentService, response_id: str, *, alerts: int = 1, within: float = 60.0
) -> IncidentView:
    """Poll until the response's incident holds at least `alerts` alerts."""
    deadline = asyncio.get_running_loop().time() + within
    found: list[IncidentView] = []
    while asyncio.get_running_loop().time() < deadline:
        found = [i for i in await incidents.list() if response_id in i.responses]
        if found and found[0].alerts >= alerts:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"{response_id} never reached an incident of {alerts}: {found}")
