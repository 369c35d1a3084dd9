"""The seed's campaign on the real dev server and the emulator: one incident, escalated."""

from __future__ import annotations

from typing import Any

from riposte.audit.events import AuditKind
from riposte.response import ActionState
from tests.incident_policies import CAMPAIGN, TAKEOVER
from tests.incidents import incident_of
from tests.plugins.temporal import StackFactory
from tests.responses import all_in, takeover_alert, wait_for

ACCOUNTS = ("adele", "ben", "chris", "dana", "eli")


async def test_five_hijacked_accounts_are_one_incident_contained_from_the_second(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Accounts A to E from one attacker IP become one incident; from the second account the
    takeover policy is escalated to autonomous (audited `escalated`), so A's pending action and
    B to E's are carried out with no human decision, and the incident policy's own action runs
    once per account through responses of its own."""
    stack = await make_stack({"m365-account-takeover": TAKEOVER, "m365-campaign": CAMPAIGN})
    upns = [f"{name}@contoso.com" for name in ACCOUNTS]
    first = (await stack.service.submit(takeover_alert(upns[0]))).response_id
    await wait_for(stack.service, first, all_in(ActionState.PENDING_APPROVAL))
    ids = [first] + [(await stack.service.submit(takeover_alert(u))).response_id for u in upns[1:]]
    for rid in ids:
        await wait_for(stack.service, rid, all_in(ActionState.EXECUTED))
    incident = await incident_of(stack.service.incidents, first, alerts=5)
    assert incident.accounts == tuple(upns)
    assert [e.by_policy for e in incident.escalations] == ["m365-campaign"]
    users = emulator_seam.state()["users"]
    assert all(users[u]["accountEnabled"] is False for u in upns)
    escalated = stack.audit(first, AuditKind.ESCALATED)
    assert len(escalated) == 1 and "human-confirm -> autonomous" in escalated[0].detail
    assert all(not stack.audit(rid, AuditKind.APPROVED) for rid in ids)
    own = [r for r in incident.responses if r not in ids]
    assert len(own) == 5
    for rid in own:
        view = await wait_for(stack.service, rid, all_in(ActionState.EXECUTED))
        assert view.incident_id == incident.incident_id
        assert [a.action.value for a in view.actions] == ["revoke_sessions"]
