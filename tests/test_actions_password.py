"""force_password_change through the real msgraph client against the HTTPS tenant emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from activities.tenant import TenantActivities, tenant_activities
from activities.testing import action_input, run
from riposte.actions.catalogue import CATALOGUE
from riposte.actions.payloads import ActionName
from riposte.failures import FailureType
from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam

BEN = "ben@contoso.com"
FORCE = ActionName.FORCE_PASSWORD_CHANGE
PATCH_USER = "PATCH /v1.0/users/{id}"


@pytest.fixture
async def acts(tenant: TenantSettings) -> AsyncIterator[TenantActivities]:
    async with tenant_activities(tenant) as activities:
        yield activities


def forced(seam: EmulatorSeam, upn: str) -> bool:
    return bool(seam.state()["users"][upn]["forceChangePasswordNextSignIn"])


async def test_simulate_reads_the_flag_and_changes_nothing(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Passive mode names the exact PATCH and the current state, and writes nothing."""
    result = await run(acts.act(FORCE), action_input(FORCE, BEN, simulate=True))
    assert not result.changed
    assert (
        result.summary == f"would make {BEN} change their password at next sign-in (not forced now)"
    )
    assert result.api_calls == (
        f"PATCH /users/{BEN} passwordProfile.forceChangePasswordNextSignIn=true",
    )
    assert not forced(emulator_seam, BEN)
    assert emulator_seam.call_count(PATCH_USER) == 0


async def test_execute_sets_the_flag_once(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """The PATCH sets forceChangePasswordNextSignIn; a second run reads it and leaves it alone."""
    first = await run(acts.act(FORCE), action_input(FORCE, BEN))
    assert first.changed and forced(emulator_seam, BEN)
    again = await run(acts.act(FORCE), action_input(FORCE, BEN))
    assert not again.changed
    assert "already change their password" in again.summary
    assert emulator_seam.call_count(PATCH_USER) == 1


def test_it_has_no_revert() -> None:
    """A forced password change is not reversible: the catalogue names no revert."""
    assert not CATALOGUE[FORCE].reversible


async def test_forbidden_names_the_missing_permission(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A 403 on the PATCH is a final Forbidden that names the permission to grant."""
    emulator_seam.add_fault(route="graph.users.patch", deny=True)
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(FORCE), action_input(FORCE, BEN))
    assert caught.value.type == FailureType.FORBIDDEN and caught.value.non_retryable
    assert "User-PasswordProfile.ReadWrite.All" in caught.value.message
    assert "User.Read.All" not in caught.value.message  # only what the refused call uses


@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_is_retried_after_retry_after(
    acts: TenantActivities, emulator_seam: EmulatorSeam, status: int
) -> None:
    """429 and 503 are retryable, with Retry-After as the next delay; the retry works."""
    emulator_seam.add_fault(route="graph.users.patch", status=status, retry_after=3, count=1)
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(FORCE), action_input(FORCE, BEN))
    assert caught.value.type == FailureType.TRANSIENT and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=3)
    assert (await run(acts.act(FORCE), action_input(FORCE, BEN))).changed
