"""enforce_pattern_of_life through the real azure-mgmt-network and azure-storage-blob clients
against the emulator's seeded week of 10.8.0.25's flow logs, checked with its flow check."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.exceptions import ApplicationError

from activities.pattern_of_life import blob_services
from activities.tenant import TenantActivities, tenant_activities
from activities.testing import RESPONSE_ID, action_input, revert_input, run
from riposte.actions.catalogue import EnforcePatternOfLifeParams
from riposte.actions.payloads import ActionName
from riposte.domain.nsg_band import PriorityBand
from riposte.failures import FailureType
from riposte.flow_logs import CONTAINER
from riposte.holders.ledger import Ledger
from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam
from tenant_emulator.seed import default_seed_path

VPN_IP = "10.8.0.25"
POL = ActionName.ENFORCE_PATTERN_OF_LIFE
LEARNED = (
    "10.0.0.4/32 udp/53, 10.0.0.5/32 udp/53, 10.0.1.0/24 tcp/443, 10.0.2.10/32 tcp/443, "
    "20.190.151.7/32 tcp/443"
)


@pytest.fixture
async def acts(tenant: TenantSettings, tmp_path: Path) -> AsyncIterator[TenantActivities]:
    ledger = Ledger(f"sqlite:///{tmp_path / 'audit.db'}")  # unblock and the fallback hold blocks
    async with tenant_activities(tenant, ledger) as activities:
        yield activities


def _request(simulate: bool = False, response_id: str = RESPONSE_ID, **params: Any) -> Any:
    bound = EnforcePatternOfLifeParams.model_validate(params).bind(None)  # type: ignore[arg-type]
    dumped = bound.model_dump(exclude_defaults=True)
    return action_input(POL, VPN_IP, simulate=simulate, response_id=response_id, **dumped)


def _rules(seam: EmulatorSeam) -> dict[str, Any]:
    """nsg-vpn's rules by name (their etags change when flushConnection is turned on)."""
    return {r["name"]: r["properties"] for r in seam.state()["nsgs"]["nsg-vpn"]["security_rules"]}


def _ours(seam: EmulatorSeam) -> list[dict[str, Any]]:
    rules = seam.state()["nsgs"]["nsg-vpn"]["security_rules"]
    return [r for r in rules if r["name"].startswith("riposte-pol-")]


async def test_passive_names_the_allow_list_and_the_last_hours_denied_flows(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Passive mode lists exactly the learned destinations and the last hour's LDAP, SMB and
    9401 flows it would deny, and writes nothing."""
    before = emulator_seam.state()["nsgs"]
    result = await run(acts.act(POL), _request(simulate=True))
    assert not result.changed
    assert f"would allow only 5 learned destinations of {VPN_IP} on nsg-vpn ({LEARNED})" in (
        result.summary
    )
    denied = result.summary.split("it would deny ")[1]
    assert "tcp/445" in denied and "tcp/389" in denied and "tcp/9401" in denied
    assert "udp/53" not in denied
    assert "would turn on flushConnection on nsg-vpn" in result.summary
    assert len(result.api_calls) == 6
    assert emulator_seam.state()["nsgs"] == before


async def test_autonomous_allows_the_usual_and_denies_the_scans_and_revert_removes_all(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Five Allow rules then one Deny land in the band of nsg-vpn, with flushConnection turned
    on; the flow check allows the usual destinations and denies 445, 9401 and LDAP; unblock
    deletes every rule."""
    before = _rules(emulator_seam)
    request = _request()
    result = await run(acts.act(POL), request)
    assert result.changed and len(result.revert.nsg_rules) == 6
    assert "turned on flushConnection on nsg-vpn" in result.summary
    assert emulator_seam.state()["nsgs"]["nsg-vpn"]["flushConnection"] is True
    rules = sorted(_ours(emulator_seam), key=lambda r: r["properties"]["priority"])
    access = [r["properties"]["access"] for r in rules]
    assert access == ["Allow"] * 5 + ["Deny"]
    assert all(100 <= r["properties"]["priority"] <= 149 for r in rules)
    for dst, port, proto in (
        ("10.0.0.4", 53, "udp"),
        ("10.0.2.10", 443, "tcp"),
        ("10.0.1.13", 443, "tcp"),
        ("20.190.151.7", 443, "tcp"),
    ):
        assert emulator_seam.flow(VPN_IP, dst, port, proto)["decision"] == "allow", dst
    for dst, port in (
        ("10.0.2.10", 445),
        ("10.0.5.77", 445),
        ("10.0.0.4", 9401),
        ("10.0.0.4", 389),
    ):
        flow = emulator_seam.flow(VPN_IP, dst, port)
        assert (flow["decision"], flow["nsg"]) == ("deny", "nsg-vpn"), (dst, port)
    assert emulator_seam.flow("10.8.0.31", "10.0.2.10", 445)["decision"] == "allow"
    again = await run(acts.act(POL), request)
    assert not again.changed
    await run(acts.revert(POL), revert_input(request, result))
    assert _rules(emulator_seam) == before


async def test_two_responses_share_one_rule_set_until_the_last_lets_go(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Two overlapping responses for one device hold one rule set in the holders ledger: the
    first revert keeps every rule for the second, the second's revert removes them."""
    first, second = _request(response_id="dt:1"), _request(response_id="dt:2")
    one = await run(acts.act(POL), first)
    rules = _ours(emulator_seam)
    two = await run(acts.act(POL), second)
    assert one.revert == two.revert and len(two.revert.nsg_rules) == 6
    assert not two.changed and _ours(emulator_seam) == rules
    assert two.summary.endswith("; shared with 1 other response (dt:1)")
    assert acts.ledger is not None
    assert {len(b.holders) for b in acts.ledger.blocks()} == {2}

    kept = await run(acts.revert(POL), revert_input(first, one))
    assert not kept.changed and "kept for 1 other response (dt:2)" in kept.summary
    assert _ours(emulator_seam) == rules
    assert emulator_seam.flow(VPN_IP, "10.0.2.10", 445)["decision"] == "deny"
    gone = await run(acts.revert(POL), revert_input(second, two))
    assert gone.changed and _ours(emulator_seam) == []
    assert acts.ledger.blocks() == []


def _banded(tenant: TenantSettings, low: int, high: int) -> TenantSettings:
    nsgs = tuple(
        binding.model_copy(update={"band": PriorityBand(low=low, high=high)})
        for binding in tenant.nsgs
    )
    return tenant.model_copy(update={"nsgs": nsgs})


async def test_the_rules_take_the_nsgs_configured_band(
    tenant: TenantSettings, tmp_path: Path, emulator_seam: EmulatorSeam
) -> None:
    """With nsg-vpn's band set to 150-199, the five allows and the deny after them sit there."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'audit.db'}")
    async with tenant_activities(_banded(tenant, 150, 199), ledger) as acts:
        await run(acts.act(POL), _request())
    priorities = sorted(r["properties"]["priority"] for r in _ours(emulator_seam))
    assert priorities == [150, 151, 152, 153, 154, 155]
    assert emulator_seam.flow(VPN_IP, "10.0.2.10", 445)["rule"].startswith("riposte-pol-")


async def test_an_allow_above_the_band_refuses_the_enforcement_naming_it(
    tenant: TenantSettings, tmp_path: Path, emulator_seam: EmulatorSeam
) -> None:
    """With the band below the seed's AllowVpnToServers (200), the deny could never hold: the
    action fails NsgRuleShadowed, non-retryable, as block_outbound does, writing no rule and
    keeping no hold."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'audit.db'}")
    async with tenant_activities(_banded(tenant, 300, 349), ledger) as acts:
        with pytest.raises(ApplicationError) as caught:
            await run(acts.act(POL), _request())
        assert ledger.blocks() == []
    assert caught.value.type == FailureType.NSG_RULE_SHADOWED
    assert caught.value.non_retryable
    assert "allow rule AllowVpnToServers (priority 200)" in str(caught.value)
    assert "above Riposte's band 300-349" in str(caught.value)
    assert _ours(emulator_seam) == []


def _seed(**changes: Any) -> dict[str, Any]:
    seed: dict[str, Any] = yaml.safe_load(default_seed_path().read_text())
    for key, value in changes.items():
        if value is None:
            del seed[key]
        else:
            seed[key] = value
    return seed


async def test_no_flow_log_configuration_is_typed_and_can_fall_back(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """Without a Network Watcher flow log the action fails NoFlowLogConfiguration; with
    `fallback: block_outbound` it blocks all outbound instead, revertible by unblock."""
    emulator_seam.reset(_seed(flow_logs=None))
    with pytest.raises(ApplicationError) as failed:
        await run(acts.act(POL), _request())
    assert failed.value.type == FailureType.NO_FLOW_LOG_CONFIGURATION
    assert failed.value.non_retryable and "vnet-contoso" in str(failed.value)
    request = _request(fallback="block_outbound")
    result = await run(acts.act(POL), request)
    assert result.summary.startswith("no enabled Network Watcher flow log covers nic-vpn-025")
    assert "instead, block_outbound: added Deny rule" in result.summary
    assert emulator_seam.flow(VPN_IP, "10.0.1.10", 443)["decision"] == "deny"
    await run(acts.revert(POL), revert_input(request, result))
    assert emulator_seam.flow(VPN_IP, "10.0.1.10", 443)["decision"] == "allow"


async def test_a_device_without_flows_fails_no_flow_logs(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A device the flow log covers but whose MAC has no blobs fails NoFlowLogs, naming it."""
    with pytest.raises(ApplicationError) as failed:
        await run(acts.act(POL), action_input(POL, "10.8.0.31"))
    assert failed.value.type == FailureType.NO_FLOW_LOGS
    assert "10.8.0.31" in str(failed.value) and "nic-vpn-031" in str(failed.value)


async def test_the_cap_refuses_a_larger_allow_list(tenant: TenantSettings) -> None:
    """With the cap (setting) below the learned five, the action fails AllowListTooLarge."""
    capped = tenant.model_copy(update={"pattern_of_life_cap": 4})
    async with tenant_activities(capped) as acts:
        with pytest.raises(ApplicationError) as failed:
            await run(acts.act(POL), _request(simulate=True))
    assert failed.value.type == FailureType.ALLOW_LIST_TOO_LARGE
    assert "5 entries, over the cap of 4" in str(failed.value)


def test_policy_parameters_refuse_nonsense() -> None:
    """min_days beyond the learning window and a fallback other than block_outbound are refused
    with the valid choices."""
    with pytest.raises(ValueError, match="min_days must be from 1 to the days in learn"):
        EnforcePatternOfLifeParams.model_validate({"learn": "2d", "min_days": 3})
    with pytest.raises(ValueError, match="fallback must be one of: block_outbound"):
        EnforcePatternOfLifeParams.model_validate({"fallback": "block_ports"})


async def test_malformed_blobs_are_named_in_the_result_and_do_not_stop_learning(
    acts: TenantActivities, tenant: TenantSettings
) -> None:
    """A blob of bad JSON beside the good ones is skipped, counted and named in the summary
    (the audit's detail), and the same allow-list is learned."""
    async with tenant_activities(tenant) as uploader:
        service = blob_services(tenant, uploader.clients.credential)("stcontosoflowlogs")
        async with service:
            container = service.get_container_client(CONTAINER)
            async for first in container.list_blob_names():
                prefix = first.split("/y=")[0]
                break
            name = f"{prefix}/y={_this_hour()}/macAddress=000D3A2B0019/PT1H.json"
            await container.upload_blob(name, b"{not json", overwrite=True)
    result = await run(acts.act(POL), _request(simulate=True))
    assert f"({LEARNED})" in result.summary
    assert f"skipped 1 malformed blobs: {name} (not JSON" in result.summary


def _this_hour() -> str:
    """This hour's path, with minute 30, so the blob sits beside the hour's real one."""
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y}/m={now:%m}/d={now:%d}/h={now:%H}/m=30"
