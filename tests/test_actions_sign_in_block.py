"""block_sign_in_from and its revert through the real msgraph client against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from activities.tenant import TenantActivities, tenant_activities
from activities.testing import Attempt, action_input, revert_input, run
from riposte.actions.payloads import ActionName
from riposte.failures import FailureType
from riposte.holders.ledger import Ledger
from riposte.holders.models import BlockKey, BlockKind, Holder
from riposte.settings import Settings, SignInBlockState, TenantSettings
from tenant_emulator.client import EmulatorSeam

ATTACKER = "198.51.100.7"
BLOCK = ActionName.BLOCK_SIGN_IN_FROM
LOCATION = "Riposte blocked sign-ins"
POLICY = "Riposte: block sign-ins from attacker ranges"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"  # its role template id
GUARD = Settings(protected_users=("breakglass@contoso.com",))


@pytest.fixture
async def acts(tenant: TenantSettings) -> AsyncIterator[TenantActivities]:
    async with tenant_activities(tenant, guard=GUARD) as activities:
        yield activities


def ranges(seam: EmulatorSeam) -> list[str] | None:
    found = seam.state()["named_locations"].get(LOCATION)
    return None if found is None else list(found["ipRanges"])


async def test_simulate_says_both_would_be_created_and_creates_nothing(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Passive mode reads the tenant (no location, no policy) and names both creations."""
    result = await run(acts.act(BLOCK), action_input(BLOCK, ATTACKER, simulate=True, prefix=32))
    assert not result.changed
    assert result.summary.startswith("would block sign-ins from 198.51.100.7/32: create the named")
    assert "every account but breakglass@contoso.com and the holders of the protected" in (
        result.summary
    )
    assert [call.split(" ")[0:2] for call in result.api_calls] == [
        ["POST", "/identity/conditionalAccess/namedLocations"],
        ["POST", "/identity/conditionalAccess/policies"],
    ]
    state = emulator_seam.state()
    assert state["named_locations"] == {} and state["conditional_access_policies"] == {}


async def test_block_creates_location_and_policy_and_revert_removes_them(
    acts: TenantActivities, emulator_seam: EmulatorSeam, tenant: TenantSettings
) -> None:
    """The first block creates the location with the range and an enabled policy that blocks
    every account but the protected one and the Global Administrators (by role template); its
    revert leaves nothing behind."""
    request = action_input(BLOCK, ATTACKER, prefix=24)
    result = await run(acts.act(BLOCK), request)
    assert result.changed and result.revert.ranges == ("198.51.100.0/24",)
    assert ranges(emulator_seam) == ["198.51.100.0/24"]
    policy = emulator_seam.state()["conditional_access_policies"][POLICY]
    assert policy["state"] == "enabled"
    assert policy["grantControls"]["builtInControls"] == ["block"]
    users = policy["conditions"]["users"]
    assert users["includeUsers"] == ["All"] and len(users["excludeUsers"]) == 1
    assert users["excludeRoles"] == [GLOBAL_ADMINISTRATOR]

    undone = await run(acts.revert(BLOCK), revert_input(request, result))
    assert undone.changed and "deleted" in undone.summary
    state = emulator_seam.state()
    assert state["named_locations"] == {} and state["conditional_access_policies"] == {}


async def test_revert_removes_only_the_range_it_added(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Ranges are a set: a second block adds its own; reverting one keeps the other's, and a
    block of a range already there adds nothing and so reverts nothing."""
    first = action_input(BLOCK, ATTACKER, action_id="a1")
    second = action_input(BLOCK, "203.0.113.9", action_id="a2")
    one = await run(acts.act(BLOCK), first)
    two = await run(acts.act(BLOCK), second)
    same = await run(acts.act(BLOCK), action_input(BLOCK, ATTACKER, action_id="a3"))
    assert not same.changed and same.revert.ranges == ()
    assert ranges(emulator_seam) == ["198.51.100.7/32", "203.0.113.9/32"]
    await run(acts.revert(BLOCK), revert_input(first, one))
    assert ranges(emulator_seam) == ["203.0.113.9/32"]
    assert POLICY in emulator_seam.state()["conditional_access_policies"]
    await run(acts.revert(BLOCK), revert_input(second, two))
    assert ranges(emulator_seam) is None


async def test_a_retry_after_the_patch_still_owns_its_range(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A retry that finds the range already added by its own first attempt still reverts it."""
    request = action_input(BLOCK, ATTACKER)
    first = Attempt()
    await first.run(acts.act(BLOCK), request)  # its result is "lost"
    retry = await Attempt(retry_of=first).run(acts.act(BLOCK), request)
    assert retry.changed and retry.revert.ranges == ("198.51.100.7/32",)


@pytest.mark.parametrize(
    ("target", "params", "reason"),
    [
        ("10.8.0.25", {}, "overlaps 10.0.0.0/8, a private or reserved range"),
        ("100.64.1.2", {}, "overlaps 100.64.0.0/10"),
        ("198.51.100.7", {"prefix": 12}, "/12 around 198.51.100.7 is wider than /16"),
        ("2001:db8::7", {"prefix_v6": 32}, "/32 around 2001:db8::7 is wider than /48"),
        ("fe80::1%eth0", {}, "zone id"),
        ("::ffff:10.0.0.5", {}, "overlaps 10.0.0.0/8"),
    ],
)
async def test_private_reserved_and_wide_ranges_are_refused_with_a_reason(
    acts: TenantActivities,
    emulator_seam: EmulatorSeam,
    target: str,
    params: dict[str, int],
    reason: str,
) -> None:
    """Refused before any call, as a final BadRequest that says why."""
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(BLOCK), action_input(BLOCK, target, **params))
    assert caught.value.type == FailureType.BAD_REQUEST and caught.value.non_retryable
    assert reason in caught.value.message
    assert emulator_seam.calls() == {}


async def test_report_only_is_a_setting(
    tenant: TenantSettings, emulator_seam: EmulatorSeam
) -> None:
    """With sign_in_block_state set for a pilot, the policy is created report-only."""
    pilot = tenant.model_copy(update={"sign_in_block_state": SignInBlockState.REPORT_ONLY})
    async with tenant_activities(pilot, guard=GUARD) as acts:
        await run(acts.act(BLOCK), action_input(BLOCK, ATTACKER))
    policy = emulator_seam.state()["conditional_access_policies"][POLICY]
    assert policy["state"] == "enabledForReportingButNotEnforced"


async def test_forbidden_names_the_missing_permission(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A 403 creating the policy is a final Forbidden naming Policy.ReadWrite.ConditionalAccess."""
    emulator_seam.add_fault(route="graph.ca_policies.create", deny=True)
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(BLOCK), action_input(BLOCK, ATTACKER))
    assert caught.value.type == FailureType.FORBIDDEN and caught.value.non_retryable
    assert "Policy.ReadWrite.ConditionalAccess" in caught.value.message
    assert "User.Read.All" not in caught.value.message  # only what the refused call uses


@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_is_retried_after_retry_after(
    acts: TenantActivities, emulator_seam: EmulatorSeam, status: int
) -> None:
    """429 and 503 on the location write are retryable; the retry blocks the range once."""
    emulator_seam.add_fault(
        route="graph.named_locations.create", status=status, retry_after=2, count=1
    )
    request = action_input(BLOCK, ATTACKER)
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(BLOCK), request)
    assert caught.value.type == FailureType.TRANSIENT and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=2)
    assert (await run(acts.act(BLOCK), request)).changed
    assert ranges(emulator_seam) == ["198.51.100.7/32"]


async def test_two_responses_share_one_range_until_the_last_lets_go(
    tenant: TenantSettings, emulator_seam: EmulatorSeam, tmp_path: Path
) -> None:
    """With the holders ledger, a second response holds the range the first added; the first
    release keeps it (naming who still holds it), the last one removes it."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'audit.db'}")
    async with tenant_activities(tenant, ledger, GUARD) as acts:
        first = action_input(BLOCK, ATTACKER, response_id="r1", action_id="r1:a1")
        second = action_input(BLOCK, ATTACKER, response_id="r2", action_id="r2:a1")
        one = await run(acts.act(BLOCK), first)
        two = await run(acts.act(BLOCK), second)
        assert one.changed and not two.changed and "shared with" in two.summary
        assert two.revert.ranges == ("198.51.100.7/32",)
        kept = await run(acts.revert(BLOCK), revert_input(first, one))
        assert not kept.changed and "still held by" in kept.summary
        assert ranges(emulator_seam) == ["198.51.100.7/32"]
        await run(acts.revert(BLOCK), revert_input(second, two))
    assert ranges(emulator_seam) is None


async def test_a_range_someone_else_added_is_never_removed(
    tenant: TenantSettings, emulator_seam: EmulatorSeam, tmp_path: Path
) -> None:
    """A range already in the location before any Riposte holder is not Riposte's: a block of
    it reverts nothing, even as the only holder."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'audit.db'}")
    async with tenant_activities(tenant, ledger, GUARD) as acts:
        admin = action_input(BLOCK, "203.0.113.9", response_id="admin", action_id="admin:a1")
        await run(acts.act(BLOCK), admin)
        await asyncio.to_thread(
            ledger.release,
            BlockKey(kind=BlockKind.NAMED_LOCATION_RANGE, scope=LOCATION, item="203.0.113.9/32"),
            Holder(response_id="admin", action_id="admin:a1"),
        )  # as if an admin had added it by hand
        await asyncio.to_thread(
            ledger.forget,
            BlockKey(kind=BlockKind.NAMED_LOCATION_RANGE, scope=LOCATION, item="203.0.113.9/32"),
        )
        request = action_input(BLOCK, "203.0.113.9", response_id="r1", action_id="r1:a1")
        result = await run(acts.act(BLOCK), request)
        assert result.revert.ranges == ()
        await run(acts.revert(BLOCK), revert_input(request, result))
    assert ranges(emulator_seam) == ["203.0.113.9/32"]
