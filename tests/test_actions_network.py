"""block_ports, block_outbound and unblock through azure-mgmt-network against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from activities.tenant import TenantActivities, tenant_activities
from activities.testing import RESPONSE_ID, Attempt, action_input, revert_input, run
from riposte.actions.firewall import rule_name
from riposte.actions.payloads import ActionName, NsgRuleRef, RevertInput, RevertState
from riposte.failures import FailureType
from riposte.settings import NsgBinding, TenantSettings
from tenant_emulator.client import EmulatorSeam

VPN_IP = "10.8.0.25"
PUT_RULE = (
    "PUT /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/"
    "networkSecurityGroups/{nsg}/securityRules/{rule}"
)


@pytest.fixture
async def acts(tenant: TenantSettings) -> AsyncIterator[TenantActivities]:
    async with tenant_activities(tenant) as activities:
        yield activities


def nsg_rules(seam: EmulatorSeam, nsg: str) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in seam.state()["nsgs"][nsg]["security_rules"]}


async def test_block_ports_adds_one_inbound_deny_and_unblock_removes_it(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """The VPN IP is denied 445 and 9401 into the server range, at the lowest free priority."""
    before = emulator_seam.state()["nsgs"]
    request = action_input(ActionName.BLOCK_PORTS, VPN_IP, ports=(9401, 445))
    result = await run(acts.act(ActionName.BLOCK_PORTS), request)

    name = rule_name(request.response_id, request.action_id)
    assert result.changed
    assert result.summary == (
        f"added Deny rule {name} priority 100 on nsg-servers for {VPN_IP} → 445, 9401"
    )
    rule = nsg_rules(emulator_seam, "nsg-servers")[name]["properties"]
    assert (rule["access"], rule["direction"], rule["priority"]) == ("Deny", "Inbound", 100)
    assert rule["sourceAddressPrefix"] == VPN_IP
    assert rule["destinationAddressPrefix"] == "10.0.0.0/16"
    assert rule["destinationPortRanges"] == ["445", "9401"]
    assert name not in nsg_rules(emulator_seam, "nsg-vpn")  # the attacker's own range
    assert result.revert.nsg_rules == (
        NsgRuleRef(resource_group="rg-core", nsg="nsg-servers", rule=name),
    )

    undone = await run(acts.revert(ActionName.BLOCK_PORTS), revert_input(request, result))
    assert undone.changed
    assert emulator_seam.state()["nsgs"] == before


async def test_block_ports_twice_leaves_one_rule(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A second run finds its own rule by name and adds no second rule."""
    request = action_input(ActionName.BLOCK_PORTS, VPN_IP, ports=(445, 9401))
    first = await run(acts.act(ActionName.BLOCK_PORTS), request)
    once = emulator_seam.state()
    again = await run(acts.act(ActionName.BLOCK_PORTS), request)
    assert not again.changed
    assert again.summary.endswith("already in place")
    assert again.revert == first.revert
    assert emulator_seam.state() == once
    assert emulator_seam.call_count(PUT_RULE) == 1


async def test_an_outside_attacker_is_blocked_on_every_protected_range(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """An attacker outside every range gets the inbound deny on both NSGs."""
    request = action_input(ActionName.BLOCK_PORTS, "198.51.100.7", ports=(445, 9401))
    result = await run(acts.act(ActionName.BLOCK_PORTS), request)
    assert [ref.nsg for ref in result.revert.nsg_rules] == ["nsg-servers", "nsg-vpn"]
    name = rule_name(request.response_id, request.action_id)
    vpn = nsg_rules(emulator_seam, "nsg-vpn")[name]["properties"]
    assert (vpn["sourceAddressPrefix"], vpn["destinationAddressPrefix"]) == (
        "198.51.100.7",
        "10.8.0.0/24",
    )


async def test_a_retry_that_finds_its_own_rule_reports_it_added(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A retry after the PUT landed finds the rule by name, adds none, and reports the change."""
    request = action_input(ActionName.BLOCK_PORTS, VPN_IP, ports=(445,))
    first = Attempt()
    await first.run(acts.act(ActionName.BLOCK_PORTS), request)  # its result is "lost"
    retry = await Attempt(retry_of=first).run(acts.act(ActionName.BLOCK_PORTS), request)
    assert retry.changed
    assert retry.summary.endswith("(by an earlier attempt)")
    assert len(retry.revert.nsg_rules) == 1
    assert emulator_seam.call_count(PUT_RULE) == 1


async def test_block_outbound_denies_everything_from_the_device_on_its_own_nsg(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """The outbound deny lands on nsg-vpn, which holds the device, ahead of every allow rule."""
    before = emulator_seam.state()["nsgs"]
    request = action_input(ActionName.BLOCK_OUTBOUND, VPN_IP)
    result = await run(acts.act(ActionName.BLOCK_OUTBOUND), request)
    name = rule_name(request.response_id, request.action_id)
    rule = nsg_rules(emulator_seam, "nsg-vpn")[name]["properties"]
    assert (rule["access"], rule["direction"], rule["priority"]) == ("Deny", "Outbound", 100)
    assert (rule["destinationAddressPrefix"], rule["destinationPortRange"]) == ("*", "*")
    assert "allow rules evaluated before it" not in result.summary
    await run(acts.revert(ActionName.BLOCK_PORTS), revert_input(request, result))
    assert emulator_seam.state()["nsgs"] == before


async def test_simulation_names_rule_and_priority_and_changes_nothing(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Passive mode reads the NSG and names the exact rule it would add, writing nothing."""
    before = emulator_seam.state()
    request = action_input(ActionName.BLOCK_PORTS, VPN_IP, simulate=True, ports=(445, 9401))
    result = await run(acts.act(ActionName.BLOCK_PORTS), request)
    name = rule_name(request.response_id, request.action_id)
    assert result.summary == (
        f"would add Deny rule {name} priority 100 on nsg-servers for {VPN_IP} → 445, 9401"
    )
    assert result.api_calls[0].startswith("PUT /resourceGroups/rg-core/")
    assert emulator_seam.state() == before
    assert emulator_seam.call_count(PUT_RULE) == 0


async def test_concurrent_writers_get_distinct_priorities(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Two blocks racing for one priority both land: the loser of SecurityRuleConflict moves up."""
    emulator_seam.add_fault(route="arm.nsgs.get", latency_ms=300, count=2)
    first = action_input(ActionName.BLOCK_PORTS, "10.8.0.25", ports=(445,), action_id="a1")
    second = action_input(ActionName.BLOCK_PORTS, "10.8.0.26", ports=(445,), action_id="a2")
    await asyncio.gather(
        run(acts.act(ActionName.BLOCK_PORTS), first), run(acts.act(ActionName.BLOCK_PORTS), second)
    )
    rules = nsg_rules(emulator_seam, "nsg-servers")
    ours = [rules[rule_name(RESPONSE_ID, a.action_id)]["properties"] for a in (first, second)]
    assert sorted(rule["priority"] for rule in ours) == [100, 101]
    assert emulator_seam.call_count(PUT_RULE) == 3  # one PUT lost the race and was retried


async def test_unblock_of_a_rule_already_gone_succeeds(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Deleting a rule someone already removed is success: "already gone"."""
    request = action_input(ActionName.BLOCK_PORTS, VPN_IP, ports=(445,))
    result = await run(acts.act(ActionName.BLOCK_PORTS), request)
    await run(acts.revert(ActionName.BLOCK_PORTS), revert_input(request, result))
    again = await run(acts.revert(ActionName.BLOCK_PORTS), revert_input(request, result))
    assert not again.changed
    assert again.summary == "deleted no rule (1 already gone)"


async def test_unblock_refuses_rules_riposte_did_not_create(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A revert state naming someone else's rule is refused before any call."""
    request = RevertInput(
        response_id="r",
        action_id="r:a1",
        action=ActionName.BLOCK_PORTS,
        target=VPN_IP,
        revert=RevertState(
            nsg_rules=(
                NsgRuleRef(resource_group="rg-core", nsg="nsg-servers", rule="AllowHttpsFromVpn"),
            )
        ),
    )
    with pytest.raises(ApplicationError) as caught:
        await run(acts.revert(ActionName.BLOCK_PORTS), request)
    assert caught.value.type == FailureType.BAD_REQUEST
    assert "AllowHttpsFromVpn" in nsg_rules(emulator_seam, "nsg-servers")
    assert emulator_seam.calls() == {}


async def test_an_nsg_setting_that_points_nowhere_is_a_configuration_error(
    tenant: TenantSettings, emulator_seam: EmulatorSeam
) -> None:
    """A binding naming a missing NSG fails as Configuration, non-retryable, writing nothing."""
    missing = NsgBinding(name="nsg-missing", resource_group="rg-core", cidr="10.0.0.0/16")
    broken = tenant.model_copy(update={"nsgs": (missing,)})
    request = action_input(ActionName.BLOCK_PORTS, VPN_IP, ports=(445,))
    async with tenant_activities(broken) as acts:
        with pytest.raises(ApplicationError) as caught:
            await run(acts.act(ActionName.BLOCK_PORTS), request)
    assert caught.value.type == FailureType.CONFIGURATION
    assert caught.value.non_retryable
    assert "nsg-missing" in str(caught.value)
    assert emulator_seam.call_count(PUT_RULE) == 0


async def test_no_nsg_for_the_device_is_a_configuration_error(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """block_outbound for an address no configured NSG protects fails before any call."""
    request = action_input(ActionName.BLOCK_OUTBOUND, "198.51.100.7")
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(ActionName.BLOCK_OUTBOUND), request)
    assert caught.value.type == FailureType.CONFIGURATION
    assert caught.value.non_retryable
    assert emulator_seam.calls() == {}
