"""revoke_app_consents and its revert through the real msgraph client against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError

from activities.tenant import TenantActivities, tenant_activities
from activities.testing import Attempt, action_input, revert_input, run
from riposte.actions.payloads import ActionName
from riposte.failures import FailureType
from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam

ADELE = "adele@contoso.com"
REVOKE = ActionName.REVOKE_APP_CONSENTS
DELETE_GRANT = "DELETE /v1.0/oauth2PermissionGrants/{id}"


@pytest.fixture
async def acts(tenant: TenantSettings) -> AsyncIterator[TenantActivities]:
    async with tenant_activities(tenant) as activities:
        yield activities


def day_before_now() -> datetime:
    """The window's start for an alert raised now with granted_within: 24h."""
    return datetime.now(UTC) - timedelta(hours=24)


def apps(seam: EmulatorSeam, upn: str) -> list[str]:
    return sorted(g["app"] for g in seam.state()["app_consents"][upn])


async def test_simulate_names_the_recent_consent_and_revokes_nothing(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Passive mode names the app consented in the window and the exact DELETE; all stay."""
    result = await run(
        acts.act(REVOKE), action_input(REVOKE, ADELE, simulate=True, since=day_before_now())
    )
    assert not result.changed
    assert "would revoke 1 of 3 app consents of adele@contoso.com" in result.summary
    assert "'Mail Backup Assistant' (offline_access Mail.ReadWrite" in result.summary
    [call] = result.api_calls
    assert call.startswith("DELETE /oauth2PermissionGrants/")
    assert apps(emulator_seam, ADELE) == [
        "Adobe Acrobat",
        "Mail Backup Assistant",
        "Zoom for Outlook",
    ]


async def test_revoke_then_restore_puts_the_grant_back(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """The recent grant is saved and deleted, the old ones stay; the revert re-creates it from
    the saved copy, and a second revert changes nothing."""
    before = emulator_seam.state()["app_consents"][ADELE]
    request = action_input(REVOKE, ADELE, since=day_before_now())
    result = await run(acts.act(REVOKE), request)
    assert result.changed
    assert [kept.app for kept in result.revert.grants] == ["Mail Backup Assistant"]
    assert apps(emulator_seam, ADELE) == ["Adobe Acrobat", "Zoom for Outlook"]

    undone = await run(acts.revert(REVOKE), revert_input(request, result))
    assert undone.changed and "re-created 1 app consents" in undone.summary
    assert sorted(map(str, emulator_seam.state()["app_consents"][ADELE])) == sorted(
        map(str, before)
    )
    again = await run(acts.revert(REVOKE), revert_input(request, result))
    assert not again.changed and "1 already in place" in again.summary


async def test_an_old_alert_window_finds_no_recent_consent(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """The window runs from the alert's time: ben@'s only grant is months old, so nothing goes."""
    result = await run(
        acts.act(REVOKE), action_input(REVOKE, "ben@contoso.com", since=day_before_now())
    )
    assert not result.changed
    assert "no app consent of ben@contoso.com was consented since" in result.summary
    assert emulator_seam.call_count(DELETE_GRANT) == 0


async def test_a_retry_after_the_delete_still_restores(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A retry whose first attempt deleted the grant keeps the saved copy, so the revert works."""
    request = action_input(REVOKE, ADELE, since=day_before_now())
    first = Attempt()
    await first.run(acts.act(REVOKE), request)  # its result is "lost"
    retry = await Attempt(retry_of=first).run(acts.act(REVOKE), request)
    assert [kept.app for kept in retry.revert.grants] == ["Mail Backup Assistant"]
    await run(acts.revert(REVOKE), revert_input(request, retry))
    assert "Mail Backup Assistant" in apps(emulator_seam, ADELE)


async def test_forbidden_names_the_missing_permission(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A 403 on the DELETE is a final Forbidden naming DelegatedPermissionGrant.ReadWrite.All."""
    emulator_seam.add_fault(route="graph.grants.delete", deny=True)
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(REVOKE), action_input(REVOKE, ADELE, since=day_before_now()))
    assert caught.value.type == FailureType.FORBIDDEN and caught.value.non_retryable
    assert "DelegatedPermissionGrant.ReadWrite.All" in caught.value.message
    assert "AuditLog.Read.All" not in caught.value.message  # only what the refused call uses


async def test_a_forbidden_audit_read_names_audit_log_read_all_alone(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """The grants are dated from the directory audit: a 403 there names AuditLog.Read.All."""
    emulator_seam.add_fault(route="graph.audits.list", deny=True)
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(REVOKE), action_input(REVOKE, ADELE, since=day_before_now()))
    assert caught.value.type == FailureType.FORBIDDEN
    assert caught.value.message.endswith(
        "the app needs the Graph application permission(s) AuditLog.Read.All (with admin consent)"
    )


@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_is_retried_after_retry_after(
    acts: TenantActivities, emulator_seam: EmulatorSeam, status: int
) -> None:
    """429 and 503 on the audit read are retryable with Retry-After as the next delay."""
    emulator_seam.add_fault(route="graph.audits.list", status=status, retry_after=4, count=1)
    request = action_input(REVOKE, ADELE, since=day_before_now())
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(REVOKE), request)
    assert caught.value.type == FailureType.TRANSIENT and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=4)
    assert (await run(acts.act(REVOKE), request)).changed
