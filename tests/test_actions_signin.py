"""Sign-in and sessions through the real msgraph client against the HTTPS tenant emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from activities.tenant import TenantActivities, tenant_activities
from activities.testing import Attempt, action_input, revert_input, run
from riposte.actions.payloads import ActionName, RevertState
from riposte.failures import FailureType
from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam

BEN = "ben@contoso.com"
PATCH_USER = "PATCH /v1.0/users/{id}"


@pytest.fixture
async def acts(tenant: TenantSettings) -> AsyncIterator[TenantActivities]:
    async with tenant_activities(tenant) as activities:
        yield activities


def enabled(seam: EmulatorSeam, upn: str) -> bool:
    return bool(seam.state()["users"][upn]["accountEnabled"])


async def test_disable_then_enable_restores_the_user(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """disable_sign_in turns accountEnabled off, and enable_sign_in puts the user back as found."""
    before = emulator_seam.state()["users"]
    request = action_input(ActionName.DISABLE_SIGN_IN, BEN)
    result = await run(acts.act(ActionName.DISABLE_SIGN_IN), request)
    assert result.changed
    assert result.revert.was_enabled is True
    assert result.api_calls == (f"PATCH /users/{BEN} accountEnabled=false",)
    assert not enabled(emulator_seam, BEN)

    undone = await run(acts.revert(ActionName.DISABLE_SIGN_IN), revert_input(request, result))
    assert undone.changed
    assert emulator_seam.state()["users"] == before


async def test_disable_twice_patches_once_and_says_so(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A second disable of the same user is a success that changes nothing and makes no PATCH."""
    request = action_input(ActionName.DISABLE_SIGN_IN, BEN)
    await run(acts.act(ActionName.DISABLE_SIGN_IN), request)
    state_once = emulator_seam.state()
    again = await run(acts.act(ActionName.DISABLE_SIGN_IN), request)
    assert not again.changed
    assert "already disabled" in again.summary
    assert emulator_seam.state() == state_once
    assert emulator_seam.call_count(PATCH_USER) == 1


async def test_revert_never_enables_a_user_disabled_before_riposte(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A user already disabled when Riposte acted stays disabled after the revert."""
    await run(acts.act(ActionName.DISABLE_SIGN_IN), action_input(ActionName.DISABLE_SIGN_IN, BEN))
    second = action_input(ActionName.DISABLE_SIGN_IN, BEN, response_id="darktrace:test-2")
    result = await run(acts.act(ActionName.DISABLE_SIGN_IN), second)
    assert result.revert.was_enabled is False

    undone = await run(acts.revert(ActionName.DISABLE_SIGN_IN), revert_input(second, result))
    assert not undone.changed
    assert "disabled before Riposte acted" in undone.summary
    assert not enabled(emulator_seam, BEN)
    assert emulator_seam.call_count(PATCH_USER) == 1


async def test_retry_after_the_patch_landed_keeps_the_earlier_state(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A retry that finds the user disabled by its own earlier attempt still records was_enabled."""
    request = action_input(ActionName.DISABLE_SIGN_IN, BEN)
    first = Attempt()
    await first.run(acts.act(ActionName.DISABLE_SIGN_IN), request)  # its result is "lost"
    assert first.heartbeats, "the prior state is heartbeated before the PATCH"

    retry = await Attempt(retry_of=first).run(acts.act(ActionName.DISABLE_SIGN_IN), request)
    assert retry.revert.was_enabled is True
    assert retry.changed
    await run(acts.revert(ActionName.DISABLE_SIGN_IN), revert_input(request, retry))
    assert enabled(emulator_seam, BEN)


async def test_simulated_disable_names_the_change_and_changes_nothing(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Simulation reads the user, describes the PATCH, and leaves the tenant identical."""
    before = emulator_seam.state()
    request = action_input(ActionName.DISABLE_SIGN_IN, BEN, simulate=True)
    result = await run(acts.act(ActionName.DISABLE_SIGN_IN), request)
    assert result.summary == f"would disable sign-in for {BEN} (currently enabled)"
    assert result.api_calls == (f"PATCH /users/{BEN} accountEnabled=false",)
    assert not result.changed
    assert emulator_seam.state() == before
    assert emulator_seam.call_count(PATCH_USER) == 0


async def test_enable_refuses_a_revert_state_that_does_not_know_the_past(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Without was_enabled the revert does not guess: it is refused before any call."""
    from temporalio.exceptions import ApplicationError

    from riposte.actions.payloads import RevertInput

    request = RevertInput(
        response_id="r",
        action_id="r:a1",
        action=ActionName.DISABLE_SIGN_IN,
        target=BEN,
        revert=RevertState(),
    )
    with pytest.raises(ApplicationError) as caught:
        await run(acts.revert(ActionName.DISABLE_SIGN_IN), request)
    assert caught.value.type == FailureType.BAD_REQUEST
    assert caught.value.non_retryable
    assert emulator_seam.calls() == {}


async def test_revoke_sessions_resets_the_session_start(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """revoke_sessions posts revokeSignInSessions, which moves signInSessionsValidFromDateTime."""
    before = emulator_seam.state()["users"][BEN]["signInSessionsValidFromDateTime"]
    result = await run(
        acts.act(ActionName.REVOKE_SESSIONS), action_input(ActionName.REVOKE_SESSIONS, BEN)
    )
    assert result.changed
    assert result.api_calls == (f"POST /users/{BEN}/revokeSignInSessions",)
    after = emulator_seam.state()["users"][BEN]["signInSessionsValidFromDateTime"]
    assert after > before


async def test_simulated_revoke_makes_no_post(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A simulated revoke reads the user and describes the POST without sending it."""
    before = emulator_seam.state()
    request = action_input(ActionName.REVOKE_SESSIONS, BEN, simulate=True)
    result = await run(acts.act(ActionName.REVOKE_SESSIONS), request)
    assert result.summary.startswith(f"would revoke every sign-in session of {BEN}")
    assert emulator_seam.state() == before
    assert emulator_seam.call_count("POST /v1.0/users/{id}/revokeSignInSessions") == 0


async def test_the_token_comes_from_the_emulator_login_endpoint(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """The real ClientSecretCredential gets its token from the emulator's token endpoint."""
    await run(acts.act(ActionName.REVOKE_SESSIONS), action_input(ActionName.REVOKE_SESSIONS, BEN))
    assert emulator_seam.call_count("POST /{tenant}/oauth2/v2.0/token") == 1
    assert emulator_seam.call_count("POST /v1.0/users/{id}/revokeSignInSessions") == 1
