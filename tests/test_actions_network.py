"""block_ports, block_outbound and unblock through azure-mgmt-network against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.network.models import SecurityRule, SecurityRulePropertiesFormat
from temporalio.exceptions import ApplicationError

from activities.nsg_access import wait
from activities.tenant import TenantActivities, tenant_activities
from activities.testing import Attempt, action_input, revert_input, run
from riposte.actions.payloads import ActionName, NsgRuleRef, RevertInput, RevertState
from riposte.domain.nsg_band import DenyView, PriorityBand, shared_rule_name
from riposte.failures import FailureType
from riposte.holders.ledger import Ledger
from riposte.settings import NsgBinding, TenantSettings
from tenant_emulator.client import EmulatorSeam

VPN_IP = "10.8.0.25"
PUT_RULE = (
    "PUT /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/"
    "networkSecurityGroups/{nsg}/securityRules/{rule}"
)


def ports_rule(source: str = VPN_IP, ports: tuple[int, ...] = (445, 9401)) -> str:
    deny = DenyView(nsg="nsg-servers", direction="Inbound", source=source, ports=ports)
    return shared_rule_name("rg-core", "nsg-servers", deny)


def outbound_rule(source: str = VPN_IP) -> str:
    return shared_rule_name(
        "rg-core", "nsg-vpn", DenyView(nsg="nsg-vpn", direction="Outbound", source=source)
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path / 'audit.db'}")


@pytest.fixture
async def acts(tenant: TenantSettings, ledger: Ledger) -> AsyncIterator[TenantActivities]:
    async with tenant_activities(tenant, ledger) as activities:
        yield activities


def nsg_rules(seam: EmulatorSeam, nsg: str) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in seam.state()["nsgs"][nsg]["security_rules"]}


async def add_allow(
    acts: TenantActivities, nsg: str, name: str, priority: int, **props: Any
) -> None:
    """An operator's Allow rule, written through the same SDK."""
    fields: dict[str, Any] = {
        "protocol": "*",
        "access": "Allow",
        "direction": "Outbound",
        "priority": priority,
        "source_address_prefix": "10.8.0.0/24",
        "source_port_range": "*",
        "destination_address_prefix": "*",
        "destination_port_range": "*",
    } | props
    body = SecurityRule(properties=SecurityRulePropertiesFormat(**fields))
    rules = acts.network.nsgs.network.security_rules
    await wait(await rules.begin_create_or_update("rg-core", nsg, name, body))


async def test_block_ports_adds_one_inbound_deny_and_unblock_removes_it(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """The VPN IP is denied 445 and 9401 into the server range, at the top of Riposte's band."""
    before = emulator_seam.state()["nsgs"]["nsg-servers"]["security_rules"]
    request = action_input(ActionName.BLOCK_PORTS, VPN_IP, ports=(9401, 445))
    result = await run(acts.act(ActionName.BLOCK_PORTS), request)

    name = ports_rule()
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
    assert undone.summary == f"deleted {name} from nsg-servers"
    assert emulator_seam.state()["nsgs"]["nsg-servers"]["security_rules"] == before


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


async def test_two_responses_share_one_rule_until_the_last_lets_go(
    acts: TenantActivities, emulator_seam: EmulatorSeam, ledger: Ledger
) -> None:
    """Two responses blocking the same IP and ports hold one rule; only the last revert deletes."""
    first = action_input(ActionName.BLOCK_PORTS, VPN_IP, ports=(445,), response_id="dt:1")
    second = action_input(ActionName.BLOCK_PORTS, VPN_IP, ports=(445,), response_id="dt:2")
    one = await run(acts.act(ActionName.BLOCK_PORTS), first)
    two = await run(acts.act(ActionName.BLOCK_PORTS), second)
    name = ports_rule(ports=(445,))
    assert one.revert == two.revert
    assert two.summary.endswith("already in place, shared with 1 other response (dt:1)")
    assert emulator_seam.call_count(PUT_RULE) == 1

    kept = await run(acts.revert(ActionName.BLOCK_PORTS), revert_input(first, one))
    assert not kept.changed
    assert kept.summary == f"released {name} on nsg-servers, kept for 1 other response (dt:2)"
    assert name in nsg_rules(emulator_seam, "nsg-servers")
    gone = await run(acts.revert(ActionName.BLOCK_PORTS), revert_input(second, two))
    assert gone.changed and name not in nsg_rules(emulator_seam, "nsg-servers")
    assert ledger.blocks() == []


async def test_an_outside_attacker_is_blocked_on_every_protected_range(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """An attacker outside every range gets the inbound deny on both NSGs."""
    request = action_input(ActionName.BLOCK_PORTS, "198.51.100.7", ports=(445, 9401))
    result = await run(acts.act(ActionName.BLOCK_PORTS), request)
    assert [ref.nsg for ref in result.revert.nsg_rules] == ["nsg-servers", "nsg-vpn"]
    vpn_rule = result.revert.nsg_rules[1].rule
    vpn = nsg_rules(emulator_seam, "nsg-vpn")[vpn_rule]["properties"]
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
    assert "(by an earlier attempt)" in retry.summary
    assert len(retry.revert.nsg_rules) == 1
    assert emulator_seam.call_count(PUT_RULE) == 1


async def test_block_outbound_denies_everything_from_the_device_and_flushes(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """The outbound deny lands on nsg-vpn, which holds the device, with flushConnection on."""
    request = action_input(ActionName.BLOCK_OUTBOUND, VPN_IP)
    result = await run(acts.act(ActionName.BLOCK_OUTBOUND), request)
    nsg = emulator_seam.state()["nsgs"]["nsg-vpn"]
    rule = nsg_rules(emulator_seam, "nsg-vpn")[outbound_rule()]["properties"]
    assert (rule["access"], rule["direction"], rule["priority"]) == ("Deny", "Outbound", 100)
    assert (rule["destinationAddressPrefix"], rule["destinationPortRange"]) == ("*", "*")
    assert nsg["flushConnection"] is True
    assert result.summary.endswith("; turned on flushConnection on nsg-vpn")
    await run(acts.revert(ActionName.BLOCK_PORTS), revert_input(request, result))
    assert outbound_rule() not in nsg_rules(emulator_seam, "nsg-vpn")


async def test_an_allow_inside_the_band_fails_the_block_naming_it(
    acts: TenantActivities, emulator_seam: EmulatorSeam, ledger: Ledger
) -> None:
    """A matching Allow at priority 100 comes before any deny: typed failure, nothing kept."""
    await add_allow(acts, "nsg-vpn", "AllowVpnEverywhere", 100)
    request = action_input(ActionName.BLOCK_OUTBOUND, VPN_IP)
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(ActionName.BLOCK_OUTBOUND), request)
    assert caught.value.type == FailureType.NSG_RULE_SHADOWED
    assert caught.value.non_retryable
    assert "AllowVpnEverywhere (priority 100)" in str(caught.value)
    assert outbound_rule() not in nsg_rules(emulator_seam, "nsg-vpn")
    assert ledger.blocks() == []  # its hold was let go


async def test_an_allow_above_the_band_fails_the_block_naming_it(
    tenant: TenantSettings, ledger: Ledger, emulator_seam: EmulatorSeam
) -> None:
    """With the band set below the seed's AllowVpnToServers, a deny there could never hold."""
    low = tuple(
        binding.model_copy(update={"band": PriorityBand(low=300, high=349)})
        for binding in tenant.nsgs
    )
    async with tenant_activities(tenant.model_copy(update={"nsgs": low}), ledger) as acts:
        with pytest.raises(ApplicationError) as caught:
            await run(
                acts.act(ActionName.BLOCK_OUTBOUND), action_input(ActionName.BLOCK_OUTBOUND, VPN_IP)
            )
    assert caught.value.type == FailureType.NSG_RULE_SHADOWED
    assert "allow rule AllowVpnToServers" in str(caught.value)
    assert "above Riposte's band 300-349" in str(caught.value)
    assert emulator_seam.call_count(PUT_RULE) == 0


async def test_a_full_band_fails_the_block(
    tenant: TenantSettings, ledger: Ledger, emulator_seam: EmulatorSeam
) -> None:
    """With a one-priority band already taken, the second block fails as NsgBandFull."""
    narrow = tuple(
        binding.model_copy(update={"band": PriorityBand(low=100, high=100)})
        for binding in tenant.nsgs
    )
    async with tenant_activities(tenant.model_copy(update={"nsgs": narrow}), ledger) as acts:
        await run(
            acts.act(ActionName.BLOCK_OUTBOUND), action_input(ActionName.BLOCK_OUTBOUND, VPN_IP)
        )
        with pytest.raises(ApplicationError) as caught:
            await run(
                acts.act(ActionName.BLOCK_OUTBOUND),
                action_input(ActionName.BLOCK_OUTBOUND, "10.8.0.26", action_id="other"),
            )
    assert caught.value.type == FailureType.NSG_BAND_FULL
    assert "band 100-100 on nsg-vpn" in str(caught.value)


async def test_addresses_are_normalised_before_the_rule_is_written(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """An IPv4-mapped address is blocked as its IPv4 address; a zone id is refused unwritten."""
    mapped = action_input(ActionName.BLOCK_OUTBOUND, "::ffff:10.8.0.25")
    result = await run(acts.act(ActionName.BLOCK_OUTBOUND), mapped)
    assert result.revert.nsg_rules[0].rule == outbound_rule()
    rule = nsg_rules(emulator_seam, "nsg-vpn")[outbound_rule()]["properties"]
    assert rule["sourceAddressPrefix"] == VPN_IP
    emulator_seam.reset()
    for refused in ("fe80::1%eth0", "10.8.0.255", "168.63.129.16"):
        with pytest.raises(ApplicationError) as caught:
            await run(
                acts.act(ActionName.BLOCK_PORTS),
                action_input(ActionName.BLOCK_PORTS, refused, ports=(445,)),
            )
        assert caught.value.type == FailureType.BAD_REQUEST
        assert caught.value.details[0] in ("zone_id", "broadcast", "platform")
    assert emulator_seam.calls() == {}


async def test_simulation_names_rule_and_priority_and_changes_nothing(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Passive mode reads the NSG and names the exact rule it would add, writing nothing."""
    before = emulator_seam.state()
    request = action_input(ActionName.BLOCK_PORTS, VPN_IP, simulate=True, ports=(445, 9401))
    result = await run(acts.act(ActionName.BLOCK_PORTS), request)
    assert result.summary == (
        f"would add Deny rule {ports_rule()} priority 100 on nsg-servers for {VPN_IP} → 445, 9401"
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
    ours = [rules[ports_rule(ip, (445,))]["properties"] for ip in ("10.8.0.25", "10.8.0.26")]
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
    assert again.summary == f"{ports_rule(ports=(445,))} on nsg-servers already gone"


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
    tenant: TenantSettings, emulator_seam: EmulatorSeam, ledger: Ledger
) -> None:
    """A binding naming a missing NSG fails as Configuration, non-retryable, writing nothing."""
    missing = NsgBinding(name="nsg-missing", resource_group="rg-core", cidr="10.0.0.0/16")
    broken = tenant.model_copy(update={"nsgs": (missing,)})
    request = action_input(ActionName.BLOCK_PORTS, VPN_IP, ports=(445,))
    async with tenant_activities(broken, ledger) as acts:
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
