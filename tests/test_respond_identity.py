"""The identity clean-up actions in each mode, end to end on the real dev server and emulator:
block_sign_in_from, force_password_change, remove_auth_methods and revoke_app_consents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from riposte.audit.events import AuditKind
from riposte.response import ActionState, Decision, Release
from tests.plugins.temporal import StackFactory
from tests.responses import HIJACKED, all_in, takeover_alert, wait_for

ADELE = "adele@contoso.com"
LOCATION = "Riposte blocked sign-ins"


def cleanup_policy(mode: str, duration: str = "24h") -> str:
    return f"""
name: takeover-cleanup
match:
  source: darktrace
  name: ["SaaS / Compromise / *"]
  entities: [user, ip]
mode: {mode}
actions:
  - block_sign_in_from: {{prefix: 32}}
  - force_password_change
  - remove_auth_methods: {{registered_within: 24h}}
  - revoke_app_consents: {{granted_within: 24h}}
duration: {duration}
"""


def now_alert(user: str) -> Any:
    """A takeover alert raised now: the seed's attacker changes are hours old."""
    return takeover_alert(user, time=datetime.now(UTC))


def authenticators(state: dict[str, Any], upn: str) -> list[str]:
    return [str(m.get("displayName")) for m in state["auth_methods"][upn]]


async def test_passive_audits_each_exact_change_and_changes_nothing(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Passive mode reads the tenant and audits what each action would do; nothing changes."""
    stack = await make_stack({"takeover-cleanup": cleanup_policy("passive")})
    before = emulator_seam.state()
    rid = (await stack.service.submit(now_alert(HIJACKED))).response_id
    await wait_for(stack.service, rid, all_in(ActionState.SIMULATED))
    assert emulator_seam.state() == before
    simulated = {e.action: e.detail for e in stack.audit(rid, AuditKind.SIMULATED)}
    assert simulated["block_sign_in_from"].startswith("would block sign-ins from 198.51.100.7/32")
    assert "not forced now" in simulated["force_password_change"]
    assert "Microsoft Authenticator 'SM-A515F'" in simulated["remove_auth_methods"]
    assert simulated["revoke_app_consents"].startswith("no app consent of ben@contoso.com")


async def test_human_confirm_approved_cleans_up_and_a_release_lifts_the_block(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Approved, each action runs: the attacker's authenticator goes, the password must change,
    sign-ins from the address are blocked; releasing the block removes the range again."""
    stack = await make_stack({"takeover-cleanup": cleanup_policy("human-confirm")})
    rid = (await stack.service.submit(now_alert(HIJACKED))).response_id
    view = await wait_for(stack.service, rid, all_in(ActionState.PENDING_APPROVAL))
    for action in view.actions:
        await stack.service.decide(Decision(action_id=action.action_id, approve=True, by="carol"))
    view = await wait_for(stack.service, rid, all_in(ActionState.EXECUTED))
    state = emulator_seam.state()
    assert "SM-A515F" not in authenticators(state, HIJACKED)
    assert state["users"][HIJACKED]["forceChangePasswordNextSignIn"] is True
    assert state["named_locations"][LOCATION]["ipRanges"] == ["198.51.100.7/32"]
    executed = {e.action: e.detail for e in stack.audit(rid, AuditKind.EXECUTED)}
    assert '"displayName": "SM-A515F"' in executed["remove_auth_methods"]  # saved as evidence

    [block] = [a for a in view.actions if a.action.value == "block_sign_in_from"]
    await stack.service.release(Release(action_id=block.action_id, by="carol"))
    assert emulator_seam.state()["named_locations"] == {}
    assert [e.actor for e in stack.audit(rid, AuditKind.RELEASED)] == ["carol"]


async def test_human_confirm_rejected_changes_nothing(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Rejected, no action runs, and each rejection is audited with who and why."""
    stack = await make_stack({"takeover-cleanup": cleanup_policy("human-confirm")})
    before = emulator_seam.state()
    rid = (await stack.service.submit(now_alert(HIJACKED))).response_id
    view = await wait_for(stack.service, rid, all_in(ActionState.PENDING_APPROVAL))
    for action in view.actions:
        await stack.service.decide(
            Decision(action_id=action.action_id, approve=False, by="carol", reason="travelling")
        )
    await wait_for(stack.service, rid, all_in(ActionState.REJECTED))
    assert emulator_seam.state() == before
    assert len(stack.audit(rid, AuditKind.REJECTED)) == 4


async def test_autonomous_revokes_the_consent_then_its_revert_restores_it(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Autonomous mode revokes adele@'s consent to the unknown app at once; when the duration
    ends the revert re-creates it, and the irreversible actions stay done."""
    stack = await make_stack({"takeover-cleanup": cleanup_policy("autonomous", duration="3s")})
    rid = (await stack.service.submit(now_alert(ADELE))).response_id
    await wait_for(
        stack.service, rid, lambda v: any(a.state is ActionState.EXECUTED for a in v.actions)
    )
    reversible = ("revoke_app_consents", "block_sign_in_from")
    done = await wait_for(
        stack.service,
        rid,
        lambda v: all(
            a.state is ActionState.REVERTED for a in v.actions if a.action.value in reversible
        ),
        within=60,
    )
    by_action = {a.action.value: a.state for a in done.actions}
    assert by_action["force_password_change"] is ActionState.EXECUTED
    assert by_action["block_sign_in_from"] is ActionState.REVERTED
    reverted = {e.action: e.detail for e in stack.audit(rid, AuditKind.REVERTED)}
    assert "re-created 1 app consents: 'Mail Backup Assistant'" in reverted["revoke_app_consents"]
    apps = sorted(g["app"] for g in emulator_seam.state()["app_consents"][ADELE])
    assert apps == ["Adobe Acrobat", "Mail Backup Assistant", "Zoom for Outlook"]
