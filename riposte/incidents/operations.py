"""What operators do with an incident: read it as one story, and decide all it waits for at once.

narrative(...)    every audit event of the incident's responses, on one timeline
pending(...)      the incident's actions waiting for a decision
decide_all(...)   one decision for every pending action, recorded per action
"""

from __future__ import annotations

import asyncio

from riposte.audit.events import AuditEvent, AuditFilter
from riposte.audit.store import AuditStore
from riposte.errors import Conflict, NotFound, RiposteError
from riposte.incidents.models import IncidentView
from riposte.model import Frozen
from riposte.response import ActionState, ActionView, Decision
from riposte.service import ResponseService

_EVENTS_PER_RESPONSE = 1000
_AT_ONCE = 8


class DecisionOutcome(Frozen):
    """One pending action's answer to an incident-wide decision."""

    action_id: str
    ok: bool
    action: ActionView | None = None
    error: str = ""


class IncidentDecision(Frozen):
    incident_id: str
    decided: int
    outcomes: tuple[DecisionOutcome, ...]


async def narrative(store: AuditStore, incident: IncidentView) -> list[AuditEvent]:
    """The incident's audit events across all its responses, in the order they happened."""

    def read() -> list[AuditEvent]:
        events: list[AuditEvent] = []
        for response_id in incident.responses:
            events += store.query(AuditFilter(response_id=response_id, limit=_EVENTS_PER_RESPONSE))
        events.sort(key=lambda e: (e.time, e.seq))
        return events

    return await asyncio.to_thread(read)


async def pending(service: ResponseService, incident: IncidentView) -> list[ActionView]:
    """The incident's actions that wait for a decision."""
    gate = asyncio.Semaphore(_AT_ONCE)

    async def actions(response_id: str) -> list[ActionView]:
        async with gate:
            try:
                view = await service.view(response_id)
            except NotFound:
                return []
        return [a for a in view.actions if a.state is ActionState.PENDING_APPROVAL]

    found = await asyncio.gather(*(actions(r) for r in incident.responses))
    return [action for group in found for action in group]


async def decide_all(
    service: ResponseService,
    incident: IncidentView,
    *,
    approve: bool,
    by: str,
    comment: str = "",
    reason: str = "",
) -> IncidentDecision:
    """Decide every pending action of the incident as one, each recorded under `by` in its own
    response; an action decided meanwhile answers with its state instead."""
    outcomes: list[DecisionOutcome] = []
    for action in await pending(service, incident):
        decision = Decision(
            action_id=action.action_id, approve=approve, by=by, comment=comment, reason=reason
        )
        try:
            view = await service.decide(decision)
        except Conflict as err:
            outcomes.append(DecisionOutcome(action_id=action.action_id, ok=False, error=str(err)))
            continue
        except RiposteError as err:
            if outcomes:  # some were decided: say which, and why the rest were not
                outcomes.append(
                    DecisionOutcome(action_id=action.action_id, ok=False, error=str(err))
                )
                continue
            raise
        outcomes.append(DecisionOutcome(action_id=action.action_id, ok=True, action=view))
    return IncidentDecision(
        incident_id=incident.incident_id,
        decided=sum(1 for o in outcomes if o.ok),
        outcomes=tuple(outcomes),
    )
