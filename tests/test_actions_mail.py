"""quarantine_mail and release_mail through msgraph against the HTTPS tenant emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from activities.tenant import TenantActivities, tenant_activities
from activities.testing import Attempt, action_input, revert_input, run
from riposte.actions.payloads import ActionName
from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam

BEN = "ben@contoso.com"
LURE = "<AM6PR01MB1234@contoso.com>"
LURE_TO = ["adele", "chris", "dana", "eli", "frank", "grace"]
MOVE = "POST /v1.0/users/{id}/messages/{message}/move"
QUARANTINE = "Riposte Quarantine"


@pytest.fixture
async def acts(tenant: TenantSettings) -> AsyncIterator[TenantActivities]:
    async with tenant_activities(tenant) as activities:
        yield activities


def placement(seam: EmulatorSeam) -> dict[str, list[tuple[str, str, str]]]:
    """Every message by mailbox as (immutable id, internetMessageId, folder name)."""
    return {
        upn: sorted((m["immutableId"], m["internetMessageId"], m["folder"]) for m in messages)
        for upn, messages in seam.state()["messages"].items()
    }


def folders_of(state: dict[str, Any], upn: str) -> list[str]:
    return [folder["displayName"] for folder in state["mail_folders"][upn]]


async def test_quarantines_the_lure_in_every_recipient_and_releases_it(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Each in-tenant recipient's copy moves to quarantine; release puts each back in its Inbox."""
    before = placement(emulator_seam)
    request = action_input(ActionName.QUARANTINE_MAIL, BEN, message_ids=(LURE,))
    result = await run(acts.act(ActionName.QUARANTINE_MAIL), request)

    assert result.changed
    assert result.summary.startswith(f"moved 6 messages to '{QUARANTINE}'")
    after = placement(emulator_seam)
    for name in LURE_TO:
        upn = f"{name}@contoso.com"
        assert [m[2] for m in after[upn] if m[1] == LURE] == [QUARANTINE]
        assert QUARANTINE in folders_of(emulator_seam.state(), upn)
    assert [m[2] for m in after[BEN] if m[1] == LURE] == ["Sent Items"]  # evidence stays
    assert {moved.user for moved in result.revert.moved} == {f"{n}@contoso.com" for n in LURE_TO}

    released = await run(acts.revert(ActionName.QUARANTINE_MAIL), revert_input(request, result))
    assert released.summary == "moved 6 messages back to their folders"
    assert placement(emulator_seam) == before


async def test_quarantining_twice_moves_once(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A second run finds every copy already in quarantine and moves nothing."""
    request = action_input(ActionName.QUARANTINE_MAIL, BEN, message_ids=(LURE,))
    await run(acts.act(ActionName.QUARANTINE_MAIL), request)
    once = emulator_seam.state()
    again = await run(acts.act(ActionName.QUARANTINE_MAIL), request)
    assert not again.changed
    assert again.summary == f"all 6 matching messages are already in '{QUARANTINE}'"
    assert emulator_seam.state() == once
    assert emulator_seam.call_count(MOVE) == 6
    assert emulator_seam.call_count("POST /v1.0/users/{id}/mailFolders") == 6


async def test_sent_within_finds_the_whole_surge_but_not_older_mail(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Everything ben sent in the last 24h (three lure batches, 15 colleagues) is quarantined."""
    request = action_input(ActionName.QUARANTINE_MAIL, BEN, sent_within_seconds=24 * 3600)
    result = await run(acts.act(ActionName.QUARANTINE_MAIL), request)
    assert len(result.revert.moved) == 15
    after = placement(emulator_seam)
    quarantined = {m[1] for messages in after.values() for m in messages if m[2] == QUARANTINE}
    assert quarantined == {LURE, "<AM6PR01MB1235@contoso.com>", "<AM6PR01MB1236@contoso.com>"}
    checklist = [m for m in after["adele@contoso.com"] if m[1] == "<AM6PR01MB0871@contoso.com>"]
    assert [m[2] for m in checklist] == ["Inbox"]  # sent two days ago: untouched


async def test_simulation_names_the_moves_and_changes_nothing(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Passive mode counts copies per mailbox and lists the calls, moving and creating nothing."""
    before = emulator_seam.state()
    request = action_input(ActionName.QUARANTINE_MAIL, BEN, simulate=True, message_ids=(LURE,))
    result = await run(acts.act(ActionName.QUARANTINE_MAIL), request)
    assert result.summary.startswith(f"would move 6 of 6 messages to '{QUARANTINE}': ")
    assert "1 in adele@contoso.com" in result.summary
    assert sum(call.endswith("/move") for call in result.api_calls) == 6
    assert not result.changed
    assert emulator_seam.state() == before
    assert emulator_seam.call_count(MOVE) == 0


async def test_retry_after_the_moves_keeps_where_each_message_came_from(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A retry finding the mail already quarantined still returns every move, so release works."""
    before = placement(emulator_seam)
    request = action_input(ActionName.QUARANTINE_MAIL, BEN, message_ids=(LURE,))
    first = Attempt()
    await first.run(acts.act(ActionName.QUARANTINE_MAIL), request)  # its result is "lost"

    retry = await Attempt(retry_of=first).run(acts.act(ActionName.QUARANTINE_MAIL), request)
    assert len(retry.revert.moved) == 6
    assert emulator_seam.call_count(MOVE) == 6
    await run(acts.revert(ActionName.QUARANTINE_MAIL), revert_input(request, retry))
    assert placement(emulator_seam) == before


async def test_no_matching_mail_is_a_success_that_changes_nothing(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """An unknown internetMessageId finds nothing, and the tenant is left as it was."""
    before = emulator_seam.state()
    request = action_input(ActionName.QUARANTINE_MAIL, BEN, message_ids=("<nope@contoso.com>",))
    result = await run(acts.act(ActionName.QUARANTINE_MAIL), request)
    assert not result.changed
    assert result.summary.startswith("found no matching message")
    assert emulator_seam.state() == before
