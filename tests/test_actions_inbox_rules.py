"""delete_inbox_rules and restore_inbox_rules through msgraph against the HTTPS tenant emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from activities.tenant import TenantActivities, tenant_activities
from activities.testing import Attempt, action_input, revert_input, run
from riposte.actions.payloads import ActionName, RuleSelection
from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam

BEN = "ben@contoso.com"
DELETE_RULE = "DELETE /v1.0/users/{id}/mailFolders/{folder}/messageRules/{rule}"
CREATE_RULE = "POST /v1.0/users/{id}/mailFolders/{folder}/messageRules"


@pytest.fixture
async def acts(tenant: TenantSettings) -> AsyncIterator[TenantActivities]:
    async with tenant_activities(tenant) as activities:
        yield activities


def rules(seam: EmulatorSeam, upn: str) -> list[dict[str, Any]]:
    return list(seam.state()["inbox_rules"][upn])


def without_ids(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rules as the user sees them: everything but the id Graph assigns on creation."""
    shown = [{k: v for k, v in rule.items() if k != "id"} for rule in found]
    return sorted(shown, key=lambda rule: (rule["sequence"], rule["displayName"]))


async def test_deletes_the_attackers_rules_and_restores_them_exactly(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Suspicious rules go, ordinary ones stay, and the revert re-creates them as they were."""
    before = rules(emulator_seam, BEN)
    request = action_input(ActionName.DELETE_INBOX_RULES, BEN, rule_names=(".",))
    result = await run(acts.act(ActionName.DELETE_INBOX_RULES), request)

    assert result.changed
    assert result.summary.startswith("deleted 2 of 5 inbox rules: '.', 'RSS Feeds'")
    left = [rule["displayName"] for rule in rules(emulator_seam, BEN)]
    assert left == ["Supplier invoices", "Copy meeting requests to Julia", "Team updates"]
    assert [saved.rule["displayName"] for saved in result.revert.rules] == [".", "RSS Feeds"]

    undone = await run(acts.revert(ActionName.DELETE_INBOX_RULES), revert_input(request, result))
    assert undone.changed
    assert without_ids(rules(emulator_seam, BEN)) == without_ids(before)


async def test_deleting_twice_deletes_once(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A second run finds nothing suspicious left, deletes nothing and says so."""
    request = action_input(ActionName.DELETE_INBOX_RULES, BEN)
    await run(acts.act(ActionName.DELETE_INBOX_RULES), request)
    once = emulator_seam.state()
    again = await run(acts.act(ActionName.DELETE_INBOX_RULES), request)
    assert not again.changed
    assert "no inbox rule" in again.summary
    assert emulator_seam.state() == once
    assert emulator_seam.call_count(DELETE_RULE) == 2


async def test_restoring_twice_creates_no_duplicate(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A repeated restore sees the rules already back and creates nothing more."""
    request = action_input(ActionName.DELETE_INBOX_RULES, "eli@contoso.com")
    result = await run(acts.act(ActionName.DELETE_INBOX_RULES), request)
    revert = revert_input(request, result)
    await run(acts.revert(ActionName.DELETE_INBOX_RULES), revert)
    again = await run(acts.revert(ActionName.DELETE_INBOX_RULES), revert)
    assert not again.changed
    assert "2 already in place" in again.summary
    assert len(rules(emulator_seam, "eli@contoso.com")) == 3
    assert emulator_seam.call_count(CREATE_RULE) == 2


async def test_simulation_names_the_rules_and_changes_nothing(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Passive mode says "would delete 2 of 5 inbox rules: '.', 'RSS Feeds'" and deletes nothing."""
    before = emulator_seam.state()
    request = action_input(ActionName.DELETE_INBOX_RULES, BEN, simulate=True)
    result = await run(acts.act(ActionName.DELETE_INBOX_RULES), request)
    assert result.summary.startswith("would delete 2 of 5 inbox rules: '.', 'RSS Feeds'")
    assert "moves mail to RSS Feeds" in result.summary
    assert len(result.api_calls) == 2
    assert all(call.startswith(f"DELETE /users/{BEN}/") for call in result.api_calls)
    assert not result.changed
    assert emulator_seam.state() == before
    assert emulator_seam.call_count(DELETE_RULE) == 0


async def test_which_all_removes_every_rule_and_restores_every_rule(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """`which: all` deletes all five of ben's rules; the revert brings all five back."""
    before = rules(emulator_seam, BEN)
    request = action_input(ActionName.DELETE_INBOX_RULES, BEN, which=RuleSelection.ALL)
    result = await run(acts.act(ActionName.DELETE_INBOX_RULES), request)
    assert rules(emulator_seam, BEN) == []
    assert len(result.revert.rules) == 5
    await run(acts.revert(ActionName.DELETE_INBOX_RULES), revert_input(request, result))
    assert without_ids(rules(emulator_seam, BEN)) == without_ids(before)


async def test_ordinary_mailbox_is_left_alone(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """frank's only rule files newsletters in an ordinary folder: nothing is deleted."""
    request = action_input(ActionName.DELETE_INBOX_RULES, "frank@contoso.com")
    result = await run(acts.act(ActionName.DELETE_INBOX_RULES), request)
    assert not result.changed
    assert result.summary.startswith("no inbox rule of frank@contoso.com looks like")
    assert emulator_seam.call_count(DELETE_RULE) == 0


async def test_retry_keeps_every_rule_saved_by_the_first_attempt(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A retry after the deletes landed still returns every saved rule, so all can be restored."""
    before = rules(emulator_seam, BEN)
    request = action_input(ActionName.DELETE_INBOX_RULES, BEN)
    first = Attempt()
    await first.run(acts.act(ActionName.DELETE_INBOX_RULES), request)  # its result is "lost"

    retry = await Attempt(retry_of=first).run(acts.act(ActionName.DELETE_INBOX_RULES), request)
    assert [saved.rule["displayName"] for saved in retry.revert.rules] == [".", "RSS Feeds"]
    assert emulator_seam.call_count(DELETE_RULE) == 2
    await run(acts.revert(ActionName.DELETE_INBOX_RULES), revert_input(request, retry))
    assert without_ids(rules(emulator_seam, BEN)) == without_ids(before)
