"""The seed's campaign on the real dev server and the emulator: one incident, escalated."""

from __future__ import annotations

from typing import Any

from riposte.audit.events import AuditKind
from riposte.response import ActionState
from riposte.service import ResponseService
from tests.eventually import eventually
from tests.incident_policies import CAMPAIGN, TAKEOVER
from tests.incidents import incident_of
from tests.plugins.temporal import StackFactory
from tests.responses import all_in, takeover_alert, wait_for

ACCOUNTS = ("adele", "ben", "chris", "dana", "eli")


async def test_five_hijacked_accounts_are_one_incident_contained_from_the_second(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Accounts A to E from one attacker IP become one incident; after the second account the
    attacker's IP is in the blocked named location (the campaign's own response), and the
    takeover policy is escalated to autonomous (audited `escalated`), so A's pending action and
    B to E's are carried out with no human decision."""
    stack = await make_stack({"m365-account-takeover": TAKEOVER, "m365-campaign": CAMPAIGN})
    upns = [f"{name}@contoso.com" for name in ACCOUNTS]
    first = (await stack.service.submit(takeover_alert(upns[0]))).response_id
    await wait_for(stack.service, first, all_in(ActionState.PENDING_APPROVAL))
    second = (await stack.service.submit(takeover_alert(upns[1]))).response_id
    two = await incident_of(stack.service.incidents, first, alerts=2)
    own = await own_response(stack.service, two.incident_id, [first, second])
    view = await wait_for(stack.service, own, all_in(ActionState.EXECUTED))
    assert [(a.action.value, a.target) for a in view.actions] == [
        ("block_sign_in_from", "198.51.100.7")
    ]
    assert view.incident_id == two.incident_id
    location = emulator_seam.state()["named_locations"]["Riposte blocked sign-ins"]
    assert "198.51.100.7/32" in location["ipRanges"]
    ids = [first, second] + [
        (await stack.service.submit(takeover_alert(u))).response_id for u in upns[2:]
    ]
    for rid in ids:
        await wait_for(stack.service, rid, all_in(ActionState.EXECUTED))
    incident = await incident_of(stack.service.incidents, first, alerts=5)
    assert incident.accounts == tuple(upns)
    assert [e.by_policy for e in incident.escalations] == ["m365-campaign"]
    users = emulator_seam.state()["users"]
    assert all(users[u]["accountEnabled"] is False for u in upns)
    escalated = stack.audit(first, AuditKind.ESCALATED)
    assert len(escalated) == 1 and "human-confirm -> autonomous" in escalated[0].detail
    assert {e.incident_id for rid in ids for e in stack.audit(rid)} == {incident.incident_id}
    assert all(not stack.audit(rid, AuditKind.APPROVED) for rid in ids)
    assert [r for r in incident.responses if r not in ids] == [own]  # one IP, one block


async def own_response(service: ResponseService, incident_id: str, members: list[str]) -> str:
    """The one response of the incident that is not one of its members' (the campaign's own)."""

    async def others() -> list[str]:
        incident = await service.incidents.view(incident_id)
        return [r for r in incident.responses if r not in members]

    [own] = await eventually(
        others, until=lambda found: len(found) == 1, what="the campaign's own response"
    )
    return own


async def test_an_incident_never_takes_over_an_earlier_chains_response(
    make_stack: StackFactory,
) -> None:
    """Two incident chains with the same numbers (here two task queues on one server; in
    production a TrackIncident terminated and started afresh) each start their own campaign
    response: the second never mistakes the first's still-running block for its own."""
    ours = []
    for _ in range(2):
        stack = await make_stack({"m365-account-takeover": TAKEOVER, "m365-campaign": CAMPAIGN})
        ids = [
            (await stack.service.submit(takeover_alert(f"{name}@contoso.com"))).response_id
            for name in ACCOUNTS[:2]
        ]
        incident = await incident_of(stack.service.incidents, ids[0], alerts=2)
        own = await own_response(stack.service, incident.incident_id, ids)
        view = await wait_for(stack.service, own, all_in(ActionState.EXECUTED))
        assert view.incident_id == incident.incident_id
        ours.append((incident.incident_id, own))
    assert ours[0][0] == ours[1][0]  # the same incident numbers ...
    assert ours[0][1] != ours[1][1]  # ... and a response of each chain's own
