"""Reverts, early release, cancellation, duplicates and exclusions, on the real stack."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import Client

from riposte.audit.events import AuditKind
from riposte.errors import Conflict, NotFound
from riposte.response import ActionState, Decision, Release
from tests.eventually import eventually
from tests.plugins.temporal import StackFactory
from tests.responses import (
    HIJACKED,
    all_in,
    network_policy,
    pending_timers,
    scan_alert,
    takeover_alert,
    takeover_policy,
    wait_for,
)
from tests.test_respond_modes import deny_rules, rule_names


async def test_actions_revert_by_themselves_after_the_duration(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """After the policy's duration the tenant is back as it was, and each revert is audited."""
    stack = await make_stack(
        {"m365-account-takeover": takeover_policy("autonomous", duration="3s")}
    )
    before = emulator_seam.state()
    rid = (await stack.service.submit(takeover_alert())).response_id
    view = await wait_for(
        stack.service,
        rid,
        lambda v: (
            bool(v.actions)
            and all(
                a.state is ActionState.REVERTED
                for a in v.actions
                if a.action.value != "revoke_sessions"
            )
        ),
    )
    after = emulator_seam.state()
    assert after["users"][HIJACKED]["accountEnabled"] is True
    assert rule_names(after, HIJACKED) == rule_names(before, HIJACKED)
    folders = lambda s: sorted((m["id"], m["folder"]) for m in s["messages"][HIJACKED])  # noqa: E731
    assert len(folders(after)) == len(folders(before))
    reverted = {e.action for e in stack.audit(rid, AuditKind.REVERTED)}
    assert reverted == {"disable_sign_in", "delete_inbox_rules", "quarantine_mail"}
    order = [(e.kind, e.action) for e in stack.audit(rid)]
    for action in reverted:
        assert order.index((AuditKind.EXECUTED, action)) < order.index((AuditKind.REVERTED, action))
    assert emulator_seam.call_count("PATCH /v1.0/users/{id}") == 2, "disabled, then enabled"
    assert next(a for a in view.actions if a.action.value == "revoke_sessions").state is (
        ActionState.EXECUTED
    )


async def test_release_reverts_early_and_records_who(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Releasing a block removes the NSG rule at once and audits who released it."""
    stack = await make_stack({"network-lateral-movement": network_policy("autonomous")})
    rid = (await stack.service.submit(scan_alert())).response_id
    view = await wait_for(stack.service, rid, all_in(ActionState.EXECUTED))
    for action in view.actions:
        done = await stack.service.release(
            Release(action_id=action.action_id, by="carol", comment="false positive")
        )
        assert done.state is ActionState.RELEASED
    assert deny_rules(emulator_seam.state()) == []
    released = stack.audit(rid, AuditKind.RELEASED)
    assert {e.actor for e in released} == {"carol"} and len(released) == 2
    with pytest.raises(Conflict) as refused:
        await stack.service.release(Release(action_id=view.actions[0].action_id, by="carol"))
    assert refused.value.state == "released"


async def test_without_a_duration_a_block_holds_until_released(
    make_stack: StackFactory, emulator_seam: Any, temporal_client: Client
) -> None:
    """A reversible action whose policy sets no duration stays in place, releasable, until an
    admin releases it."""
    policy = network_policy("autonomous").replace("duration: 2h\n", "")
    assert "duration" not in policy
    stack = await make_stack({"network-lateral-movement": policy})
    rid = (await stack.service.submit(scan_alert())).response_id
    view = await wait_for(stack.service, rid, all_in(ActionState.EXECUTED))
    assert all(a.revert_at is None for a in view.actions)
    # Still held, and nothing will undo it: no timer is pending in the workflow, so no revert
    # is scheduled (rather than sleeping and hoping a revert would have shown by then).
    assert await pending_timers(temporal_client, rid) == []
    assert len(deny_rules(emulator_seam.state())) == 2, "still held"
    for action in view.actions:
        done = await stack.service.release(Release(action_id=action.action_id, by="dan"))
        assert done.state is ActionState.RELEASED
    assert deny_rules(emulator_seam.state()) == []


async def test_an_alert_that_arrives_while_policies_are_broken_waits_for_them(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """With a policy file in error the alert is audited as received and the failure recorded;
    once the file is fixed the response goes ahead. No accepted alert is dropped."""
    broken = network_policy("autonomous").replace("mode: autonomous", "mode: autonomus")
    stack = await make_stack({"network-lateral-movement": broken})
    rid = (await stack.service.submit(scan_alert())).response_id
    failed = await eventually(
        lambda: stack.audit(rid, AuditKind.FAILED), what="the failed policy snapshot's audit"
    )
    assert len(failed) == 1 and "autonomus" in failed[0].detail
    assert len(stack.audit(rid, AuditKind.ALERT_RECEIVED)) == 1
    policy_file = stack.settings.policies_dir / "network-lateral-movement.yaml"
    policy_file.write_text(network_policy("autonomous"))
    await wait_for(stack.service, rid, all_in(ActionState.EXECUTED), within=60)
    assert len(deny_rules(emulator_seam.state())) == 2


async def test_decisions_on_unknown_or_decided_actions_are_refused(
    make_stack: StackFactory,
) -> None:
    """An unknown action id is not found; a second decision is a conflict naming the state."""
    stack = await make_stack({"network-lateral-movement": network_policy("human-confirm")})
    rid = (await stack.service.submit(scan_alert())).response_id
    view = await wait_for(stack.service, rid, all_in(ActionState.PENDING_APPROVAL))
    with pytest.raises(NotFound):
        await stack.service.decide(Decision(action_id=f"{rid}:a99", approve=True, by="x"))
    first = view.actions[0].action_id
    await stack.service.decide(Decision(action_id=first, approve=False, by="x", reason="no"))
    with pytest.raises(Conflict) as refused:
        await stack.service.decide(Decision(action_id=first, approve=True, by="y"))
    assert refused.value.state == "rejected"


async def test_cancelling_a_response_reverts_what_it_did(
    make_stack: StackFactory, emulator_seam: Any, temporal_client: Any
) -> None:
    """A cancelled response never leaves a block behind: its executed actions are reverted."""
    stack = await make_stack({"network-lateral-movement": network_policy("autonomous")})
    rid = (await stack.service.submit(scan_alert())).response_id
    await wait_for(stack.service, rid, all_in(ActionState.EXECUTED))
    assert deny_rules(emulator_seam.state())
    await temporal_client.get_workflow_handle(rid).cancel()
    await wait_for(stack.service, rid, all_in(ActionState.RELEASED))
    assert deny_rules(emulator_seam.state()) == []


async def test_the_same_alert_twice_gives_one_response(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Concurrent and later duplicates join the first response; side effects happen once."""
    stack = await make_stack({"network-lateral-movement": network_policy("autonomous")})
    alert = scan_alert()
    first, second = await asyncio.gather(stack.service.submit(alert), stack.service.submit(alert))
    assert first.response_id == second.response_id == alert.key
    assert sorted([first.duplicate, second.duplicate]) == [False, True]
    await wait_for(stack.service, alert.key, all_in(ActionState.EXECUTED))
    again = await stack.service.submit(alert)
    assert again.duplicate and again.response_id == alert.key
    assert len(deny_rules(emulator_seam.state())) == 2
    assert len(stack.audit(alert.key, AuditKind.ALERT_RECEIVED)) == 1


async def test_excluded_targets_are_never_touched_and_audited(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """An excluded user or IP is never acted on, and each skipped action is audited `excluded`."""
    stack = await make_stack(
        {
            "m365-account-takeover": takeover_policy("autonomous"),
            "network-lateral-movement": network_policy("autonomous"),
        }
    )
    guarded = [takeover_alert("breakglass@contoso.com"), scan_alert("10.0.0.5")]
    ids = [(await stack.service.submit(a)).response_id for a in guarded]
    for rid in ids:
        view = await wait_for(stack.service, rid, all_in(ActionState.EXCLUDED))
        assert len(stack.audit(rid, AuditKind.EXCLUDED)) == len(view.actions)
        assert stack.audit(rid, AuditKind.EXECUTED) == []
    state = emulator_seam.state()
    assert state["users"]["breakglass@contoso.com"]["accountEnabled"] is True
    assert deny_rules(state) == []
