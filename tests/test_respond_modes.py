"""Each mode end to end, on both incidents, against the real dev server and the tenant emulator."""

from __future__ import annotations

from typing import Any

from riposte.audit.events import AuditKind
from riposte.response import ActionState, Decision
from tests.plugins.temporal import StackFactory
from tests.responses import (
    HIJACKED,
    VPN_IP,
    all_in,
    network_policy,
    scan_alert,
    states,
    takeover_alert,
    takeover_policy,
    wait_for,
)


def deny_rules(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        rule
        for nsg in state["nsgs"].values()
        for rule in nsg["security_rules"]
        if rule["name"].startswith("riposte-")
    ]


def rule_names(state: dict[str, Any], user: str) -> set[str]:
    return {rule["displayName"] for rule in state["inbox_rules"][user]}


async def test_passive_changes_nothing_and_audits_the_exact_change(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Passive mode simulates every action of both incidents: the tenant stays identical."""
    stack = await make_stack(
        {
            "m365-account-takeover": takeover_policy("passive"),
            "network-lateral-movement": network_policy("passive"),
        }
    )
    before = emulator_seam.state()
    ids = [(await stack.service.submit(a)).response_id for a in (takeover_alert(), scan_alert())]
    for rid in ids:
        view = await wait_for(stack.service, rid, all_in(ActionState.SIMULATED))
        assert len(view.actions) in (2, 4)
    assert emulator_seam.state() == before
    simulated = {e.action: e.detail for rid in ids for e in stack.audit(rid, AuditKind.SIMULATED)}
    assert "would delete" in simulated["delete_inbox_rules"]
    assert "'.'" in simulated["delete_inbox_rules"]
    assert "445" in simulated["block_ports"] and "9401" in simulated["block_ports"]
    assert "would" in simulated["disable_sign_in"]


async def test_autonomous_contains_the_hijacked_account(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Autonomous mode disables sign-in, revokes sessions, deletes the attacker's rule and
    quarantines the phishing mail, and audits each as executed."""
    stack = await make_stack({"m365-account-takeover": takeover_policy("autonomous")})
    rid = (await stack.service.submit(takeover_alert())).response_id
    view = await wait_for(stack.service, rid, all_in(ActionState.EXECUTED))
    after = emulator_seam.state()
    assert after["users"][HIJACKED]["accountEnabled"] is False
    assert "." not in rule_names(after, HIJACKED)
    assert rule_names(after, HIJACKED), "ordinary rules stay"
    executed = stack.audit(rid, AuditKind.EXECUTED)
    assert {e.action for e in executed} == {a.action.value for a in view.actions}
    listed = await stack.service.list(target=HIJACKED)
    assert [r.response_id for r in listed] == [rid]
    assert await stack.service.list(target="dana@contoso.com") == []
    assert all(e.policy_hash == view.matched[0].hash for e in executed)


async def test_autonomous_blocks_the_vpn_address_on_ports_and_outbound(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Autonomous mode adds Deny rules for the attacker IP on 445 and 9401, and all outbound."""
    stack = await make_stack({"network-lateral-movement": network_policy("autonomous")})
    rid = (await stack.service.submit(scan_alert())).response_id
    await wait_for(stack.service, rid, all_in(ActionState.EXECUTED))
    rules = deny_rules(emulator_seam.state())
    assert rules, "a Deny rule was added"
    assert all(r["properties"]["access"] == "Deny" for r in rules)
    directions = {r["properties"]["direction"] for r in rules}
    assert directions == {"Inbound", "Outbound"}
    assert any(VPN_IP in str(r["properties"]) for r in rules)


async def test_human_confirm_approve_executes_with_the_approver_recorded(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """A pending action waits; once approved it executes and the audit names the approver."""
    stack = await make_stack({"m365-account-takeover": takeover_policy("human-confirm")})
    rid = (await stack.service.submit(takeover_alert())).response_id
    view = await wait_for(stack.service, rid, all_in(ActionState.PENDING_APPROVAL))
    assert emulator_seam.state()["users"][HIJACKED]["accountEnabled"] is True
    pending = await stack.service.pending_approvals()
    assert {p.action.action_id for p in pending} >= {a.action_id for a in view.actions}
    disable = next(a for a in view.actions if a.action.value == "disable_sign_in")
    done = await stack.service.decide(
        Decision(action_id=disable.action_id, approve=True, by="alice", comment="confirmed")
    )
    assert done.state is ActionState.EXECUTED
    assert emulator_seam.state()["users"][HIJACKED]["accountEnabled"] is False
    approved = stack.audit(rid, AuditKind.APPROVED)
    assert [(e.actor, e.action_id) for e in approved] == [("alice", disable.action_id)]


async def test_human_confirm_reject_does_nothing(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """A rejected action is never carried out, and the rejection is audited with its reason."""
    stack = await make_stack({"network-lateral-movement": network_policy("human-confirm")})
    rid = (await stack.service.submit(scan_alert())).response_id
    view = await wait_for(stack.service, rid, all_in(ActionState.PENDING_APPROVAL))
    for action in view.actions:
        await stack.service.decide(
            Decision(action_id=action.action_id, approve=False, by="bob", reason="pen test")
        )
    view = await wait_for(stack.service, rid, all_in(ActionState.REJECTED))
    assert deny_rules(emulator_seam.state()) == []
    rejected = stack.audit(rid, AuditKind.REJECTED)
    assert len(rejected) == 2 and all(e.actor == "bob" and "pen test" in e.detail for e in rejected)


async def test_unanswered_request_expires_and_nothing_happens(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """With nobody answering, the request expires after the policy's timeout; no action is taken."""
    approval = "approval: {timeout: 2s, on_timeout: expire}"
    stack = await make_stack(
        {"network-lateral-movement": network_policy("human-confirm", extra=approval)}
    )
    rid = (await stack.service.submit(scan_alert())).response_id
    view = await wait_for(stack.service, rid, all_in(ActionState.EXPIRED))
    assert states(view) == {"block_ports": "expired", "block_outbound": "expired"}
    assert deny_rules(emulator_seam.state()) == []
    assert len(stack.audit(rid, AuditKind.APPROVAL_EXPIRED)) == 2


async def test_unanswered_request_executes_when_the_policy_says_so(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """`on_timeout: execute` carries the action out once the approval window closes."""
    approval = "approval: {timeout: 2s, on_timeout: execute}"
    stack = await make_stack(
        {"network-lateral-movement": network_policy("human-confirm", extra=approval)}
    )
    rid = (await stack.service.submit(scan_alert())).response_id
    await wait_for(stack.service, rid, all_in(ActionState.EXECUTED))
    assert deny_rules(emulator_seam.state())
    assert stack.kinds(rid).count("approval_expired") == 2
