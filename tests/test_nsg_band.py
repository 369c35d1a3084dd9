"""Riposte's priority band: the deny's priority, and the Allow rules that would defeat it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from riposte.domain.nsg_band import (
    AllowBeforeDeny,
    BandFull,
    DenyView,
    PriorityBand,
    RuleView,
    allows_not_below,
    choose_priority,
    shared_rule_name,
)

BAND = PriorityBand()
OUTBOUND = DenyView(nsg="nsg-vpn", direction="Outbound", source="10.8.0.25")
PORTS = DenyView(
    nsg="nsg-servers",
    direction="Inbound",
    source="10.8.0.25",
    destination="10.0.0.0/16",
    ports=(445, 9401),
)


def allow(name: str, priority: int, direction: str = "Outbound", **fields: object) -> RuleView:
    return RuleView.model_validate(
        {"name": name, "priority": priority, "direction": direction, "allows": True, **fields}
    )


def test_the_deny_takes_the_lowest_free_priority_in_the_band() -> None:
    """Rules below the band do not matter; taken priorities in the band are skipped."""
    rules = [
        allow("AllowVpnToServers", 200, sources=("10.8.0.0/24",)),
        RuleView(name="riposte-x", priority=100, direction="Outbound", allows=False),
        RuleView(name="inbound", priority=101, direction="Inbound", allows=False),
    ]
    assert choose_priority(rules, OUTBOUND, BAND) == 101


def test_an_allow_above_the_band_that_matches_the_device_is_named() -> None:
    """The demo's old AllowVpnToServers at 100 would let the blocked device reach the servers."""
    rules = [allow("AllowVpnToServers", 99, sources=("10.8.0.0/24",))]
    with pytest.raises(AllowBeforeDeny) as found:
        choose_priority(rules, OUTBOUND, PriorityBand(low=100, high=149))
    assert (found.value.rule, found.value.priority, found.value.nsg) == (
        "AllowVpnToServers",
        99,
        "nsg-vpn",
    )
    assert "above Riposte's band 100-149" in str(found.value)


def test_an_allow_inside_the_band_before_the_free_priority_is_named_too() -> None:
    """An ordinary rule sitting in the band at 100 comes before a deny at 101."""
    rules = [allow("AllowVpnToServers", 100, sources=("10.8.0.0/24",))]
    with pytest.raises(AllowBeforeDeny, match="inside Riposte's band"):
        choose_priority(rules, OUTBOUND, BAND)


@pytest.mark.parametrize(
    ("fields", "shadows"),
    [
        ({"sources": ("10.9.0.0/24",)}, False),  # another range
        ({"sources": ("VirtualNetwork",)}, True),  # a private device is in the VNet
        ({"sources": ("Internet",)}, False),  # 10.8.0.25 is not public
        ({"sources": ("AzureLoadBalancer",)}, False),
        ({"sources": ("*",), "direction": "Inbound"}, False),  # other direction
        ({"sources": ("*",), "allows": False}, False),  # a deny
    ],
)
def test_only_allow_rules_that_match_the_traffic_count(
    fields: dict[str, object], shadows: bool
) -> None:
    """Source, direction and access decide whether an Allow above the band matters."""
    rules = [allow("Other", 99, **fields)]
    if shadows:
        with pytest.raises(AllowBeforeDeny):
            choose_priority(rules, OUTBOUND, BAND)
    else:
        assert choose_priority(rules, OUTBOUND, BAND) == 100


def test_ports_and_destinations_must_overlap_for_an_inbound_allow_to_count() -> None:
    """HTTPS from the VPN does not defeat a 445/9401 deny; SMB from the VPN does."""
    https = allow("AllowHttps", 90, "Inbound", sources=("10.8.0.0/24",), ports=("443",))
    elsewhere = allow("Elsewhere", 91, "Inbound", sources=("*",), destinations=("10.9.0.0/16",))
    assert choose_priority([https, elsewhere], PORTS, BAND) == 100
    smb = allow("AllowSmb", 92, "Inbound", sources=("10.8.0.0/24",), ports=("400-500",))
    with pytest.raises(AllowBeforeDeny, match="AllowSmb"):
        choose_priority([https, smb], PORTS, BAND)


def test_a_full_band_fails_naming_the_nsg_and_band() -> None:
    """Every priority of a narrow band taken: no deny can be placed."""
    band = PriorityBand(low=100, high=101)
    taken = [
        RuleView(name=f"r{p}", priority=p, direction="Outbound", allows=False) for p in (100, 101)
    ]
    with pytest.raises(BandFull, match="band 100-101 on nsg-vpn has no free outbound"):
        choose_priority(taken, OUTBOUND, band)


def test_bands_are_checked_when_configured() -> None:
    """A band whose ends are reversed or outside 100-4096 is refused at settings time."""
    with pytest.raises(ValidationError):
        PriorityBand(low=150, high=149)
    with pytest.raises(ValidationError):
        PriorityBand(low=50, high=149)


def test_rule_names_are_shared_by_nsg_address_and_ports() -> None:
    """The same block from two responses has one name; another NSG, IP or port set another."""
    name = shared_rule_name("rg-core", "nsg-servers", PORTS)
    assert name == shared_rule_name(
        "RG-CORE", "nsg-servers", PORTS.model_copy(update={"ports": (9401, 445)})
    )
    assert name != shared_rule_name("rg-core", "nsg-vpn", PORTS)
    assert name != shared_rule_name(
        "rg-core", "nsg-servers", PORTS.model_copy(update={"source": "10.8.0.26"})
    )
    assert name != shared_rule_name(
        "rg-core", "nsg-servers", PORTS.model_copy(update={"ports": (445,)})
    )
    assert name.startswith("riposte-") and len(name) == 24


def test_doctor_sees_every_allow_above_or_inside_the_band() -> None:
    """Allow rules above or in the band are listed by direction and priority; denies are not."""
    rules = [
        allow("B", 99),
        allow("A", 80, "Inbound"),
        allow("C", 149),
        RuleView(name="D", priority=90, direction="Outbound", allows=False),
        allow("Below", 150),
    ]
    assert [r.name for r in allows_not_below(rules, BAND)] == ["A", "B", "C"]
