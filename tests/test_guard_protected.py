"""Protected entities enforced again inside every action activity: protected users, members of
protected Entra directory roles (read through Graph, cached) and protected ranges, on the real
worker, Temporal dev server and tenant emulator."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.tenant import tenant_activities
from riposte.actions.payloads import ActionInput, ActionName, ActionParams
from riposte.audit.events import AuditKind
from riposte.failures import FailureType
from riposte.response import ActionState
from riposte.settings import Settings, TenantSettings
from tenant_emulator.client import EmulatorSeam
from tests.plugins.temporal import StackFactory
from tests.responses import all_in, takeover_alert, wait_for

GLOBAL_ADMIN = "quinn@contoso.com"  # the seed's ordinary-looking Global Administrator
NO_EXCLUSIONS = """
name: careless
match: {not: {source: __never__}, entities: [user]}
mode: {mode}
actions: [disable_sign_in, revoke_sessions]
"""


@pytest.mark.parametrize("mode", ["autonomous", "passive"])
async def test_a_global_administrator_is_never_disabled(
    make_stack: StackFactory, emulator_seam: EmulatorSeam, mode: str
) -> None:
    """A policy with no exclusions cannot touch a Global Administrator: each activity refuses,
    the actions are audited `excluded`, and the account stays enabled."""
    stack = await make_stack({"careless": NO_EXCLUSIONS.replace("{mode}", mode)})
    rid = (await stack.service.submit(takeover_alert(GLOBAL_ADMIN))).response_id
    view = await wait_for(stack.service, rid, all_in(ActionState.EXCLUDED))
    assert all("Global Administrator" in a.change for a in view.actions)
    excluded = stack.audit(rid, AuditKind.EXCLUDED)
    assert len(excluded) == 2 and all(GLOBAL_ADMIN in e.detail for e in excluded)
    assert stack.audit(rid, AuditKind.EXECUTED) == stack.audit(rid, AuditKind.FAILED) == []
    assert emulator_seam.state()["users"][GLOBAL_ADMIN]["accountEnabled"] is True
    assert emulator_seam.call_count("POST /v1.0/users/{id}/revokeSignInSessions") == 0


def _request(action: ActionName, target: str, **params: object) -> ActionInput:
    return ActionInput(
        response_id="r",
        action_id="r:a1",
        action=action,
        target=target,
        params=ActionParams.model_validate(params),
    )


async def test_every_activity_refuses_protected_users_roles_and_ranges(
    tenant: TenantSettings, emulator_seam: EmulatorSeam
) -> None:
    """Called directly, past any plan, the guarded activities raise a non-retryable Protected
    failure for a protected user, a role member and a protected range, and act otherwise; the
    role listing is read once while its cache holds."""
    settings = Settings(
        tenant=tenant,
        protected_users=("breakglass@contoso.com", "priya@contoso.com"),
        protected_ranges=("10.8.0.0/28",),
    )
    env = ActivityEnvironment()
    async with tenant_activities(tenant, guard=settings) as activities:
        disable = activities.act(ActionName.DISABLE_SIGN_IN)
        block = activities.act(ActionName.BLOCK_OUTBOUND)
        for act, request in (
            (disable, _request(ActionName.DISABLE_SIGN_IN, "Priya@contoso.com")),
            (disable, _request(ActionName.DISABLE_SIGN_IN, GLOBAL_ADMIN)),
            (block, _request(ActionName.BLOCK_OUTBOUND, "10.8.0.5")),
            (block, _request(ActionName.BLOCK_OUTBOUND, "::ffff:10.8.0.5")),  # normalised first
        ):
            with pytest.raises(ApplicationError) as refused:
                await env.run(act, request)
            assert refused.value.type == FailureType.PROTECTED and refused.value.non_retryable
        done = await env.run(disable, _request(ActionName.DISABLE_SIGN_IN, "ben@contoso.com"))
    assert done.changed
    state = emulator_seam.state()["users"]
    assert state[GLOBAL_ADMIN]["accountEnabled"] and state["priya@contoso.com"]["accountEnabled"]
    assert emulator_seam.call_count("GET /v1.0/directoryRoles") == 1
