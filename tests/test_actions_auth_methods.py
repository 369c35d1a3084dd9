"""remove_auth_methods through the real msgraph client against the HTTPS tenant emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError

from activities.tenant import TenantActivities, tenant_activities
from activities.testing import Attempt, action_input, run
from riposte.actions.catalogue import CATALOGUE
from riposte.actions.payloads import ActionName
from riposte.failures import FailureType
from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam

BEN = "ben@contoso.com"
REMOVE = ActionName.REMOVE_AUTH_METHODS
DELETE_METHOD = "DELETE /v1.0/users/{id}/authentication/{kind}/{method}"


@pytest.fixture
async def acts(tenant: TenantSettings) -> AsyncIterator[TenantActivities]:
    async with tenant_activities(tenant) as activities:
        yield activities


def day_before_now() -> datetime:
    """The window's start for an alert raised now with registered_within: 24h."""
    return datetime.now(UTC) - timedelta(hours=24)


def names(seam: EmulatorSeam, upn: str) -> list[str]:
    return [str(m.get("displayName")) for m in seam.state()["auth_methods"][upn]]


async def test_simulate_names_the_attackers_authenticator_and_deletes_nothing(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Passive mode lists the methods registered in the window, with the exact DELETE, and keeps
    them all."""
    before = names(emulator_seam, BEN)
    request = action_input(REMOVE, BEN, simulate=True, since=day_before_now())
    result = await run(acts.act(REMOVE), request)
    assert not result.changed
    assert "would delete 1 of 4 authentication methods of ben@contoso.com" in result.summary
    assert "Microsoft Authenticator 'SM-A515F'" in result.summary
    assert "1 undated (phone, email) kept" in result.summary
    [call] = result.api_calls
    assert call.startswith(f"DELETE /users/{BEN}/authentication/microsoftAuthenticatorMethods/")
    assert names(emulator_seam, BEN) == before


async def test_execute_saves_then_deletes_only_the_recent_method(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """The recent authenticator is saved to the result (and so the audit) and deleted; the
    months-old ones and the phone stay; a second run finds nothing."""
    request = action_input(REMOVE, BEN, since=day_before_now())
    result = await run(acts.act(REMOVE), request)
    assert result.changed
    assert [m["displayName"] for m in result.revert.methods] == ["SM-A515F"]
    assert '"displayName": "SM-A515F"' in result.summary  # the saved copy is in the audit
    assert "SM-A515F" not in names(emulator_seam, BEN)
    assert "Pixel 7" in names(emulator_seam, BEN)
    again = await run(acts.act(REMOVE), request)
    assert not again.changed
    assert emulator_seam.effects()[DELETE_METHOD] == 1


async def test_the_window_is_relative_to_the_alert_not_to_now(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """An alert from three days ago with a 24h window still catches a method registered since
    then (the attacker kept going), but not one registered before its window."""
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    request = action_input(REMOVE, BEN, simulate=True, since=three_days_ago - timedelta(days=1))
    result = await run(acts.act(REMOVE), request)
    assert "SM-A515F" in result.summary and "Pixel 7" not in result.summary
    old_alert = datetime.now(UTC) - timedelta(days=500)
    request = action_input(REMOVE, "eli@contoso.com", simulate=True, since=old_alert)
    every = await run(acts.act(REMOVE), request)
    assert "would delete 2 of 3" in every.summary  # all but the password method


async def test_a_retry_after_the_delete_still_reports_the_saved_method(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A retry whose first attempt deleted the method keeps the saved copy from its heartbeat."""
    request = action_input(REMOVE, BEN, since=day_before_now())
    first = Attempt()
    await first.run(acts.act(REMOVE), request)  # its result is "lost"
    retry = await Attempt(retry_of=first).run(acts.act(REMOVE), request)
    assert [m["displayName"] for m in retry.revert.methods] == ["SM-A515F"]
    assert retry.api_calls == ()


def test_it_has_no_revert() -> None:
    """Deleted methods are evidence, not restorable: the catalogue names no revert."""
    assert not CATALOGUE[REMOVE].reversible


async def test_forbidden_names_the_missing_permission(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A 403 on the DELETE is a final Forbidden naming UserAuthenticationMethod.ReadWrite.All."""
    emulator_seam.add_fault(route="graph.auth_methods.delete", deny=True)
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(REMOVE), action_input(REMOVE, BEN, since=day_before_now()))
    assert caught.value.type == FailureType.FORBIDDEN and caught.value.non_retryable
    assert "UserAuthenticationMethod.ReadWrite.All" in caught.value.message


@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_is_retried_after_retry_after(
    acts: TenantActivities, emulator_seam: EmulatorSeam, status: int
) -> None:
    """429 and 503 on the listing are retryable with Retry-After as the next delay."""
    emulator_seam.add_fault(route="graph.auth_methods.list", status=status, retry_after=2, count=1)
    request = action_input(REMOVE, BEN, since=day_before_now())
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(REMOVE), request)
    assert caught.value.type == FailureType.TRANSIENT and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=2)
    assert (await run(acts.act(REMOVE), request)).changed
