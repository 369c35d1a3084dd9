"""Address normalisation: one canonical address, or a refusal with a typed reason."""

from __future__ import annotations

import ipaddress

import pytest

from riposte.domain.addresses import (
    AddressRefusal,
    AddressRefused,
    contains,
    normalise_address,
    normalise_range,
)
from riposte.policy.engine import evaluate

VPN = ipaddress.ip_network("10.8.0.0/24")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.8.0.25", "10.8.0.25"),
        (" 10.8.0.25 ", "10.8.0.25"),
        ("10.8.0.25/32", "10.8.0.25"),
        ("::ffff:10.0.0.5", "10.0.0.5"),
        ("::FFFF:0A00:0005", "10.0.0.5"),
        ("2001:DB8::0:1", "2001:db8::1"),
    ],
)
def test_addresses_become_one_canonical_form(text: str, expected: str) -> None:
    """Mapped IPv6, upper case, padding and a /32 all normalise to the address NSGs get."""
    assert str(normalise_address(text, ranges=[VPN])) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", AddressRefusal.EMPTY),
        ("ben@contoso.com", AddressRefusal.MALFORMED),
        ("10.8.0.0/24", AddressRefusal.MALFORMED),
        ("010.8.0.25", AddressRefusal.MALFORMED),
        ("fe80::1%eth0", AddressRefusal.ZONE_ID),
        ("fe80::1%25eth0", AddressRefusal.ZONE_ID),
        ("0.0.0.0", AddressRefusal.NOT_A_HOST),
        ("::ffff:127.0.0.1", AddressRefusal.NOT_A_HOST),
        ("224.0.0.1", AddressRefusal.NOT_A_HOST),
        ("10.8.0.0", AddressRefusal.NETWORK_ADDRESS),
        ("10.8.0.255", AddressRefusal.BROADCAST),
        ("::ffff:10.8.0.255", AddressRefusal.BROADCAST),
        ("255.255.255.255", AddressRefusal.BROADCAST),
        ("168.63.129.16", AddressRefusal.PLATFORM),
        ("169.254.169.254", AddressRefusal.PLATFORM),
        ("::ffff:168.63.129.16", AddressRefusal.PLATFORM),
    ],
)
def test_addresses_that_cannot_be_acted_on_are_refused_with_a_reason(
    text: str, reason: AddressRefusal
) -> None:
    """Each refusal carries the rule that refused it, so callers branch on the type."""
    with pytest.raises(AddressRefused) as refused:
        normalise_address(text, ranges=[VPN])
    assert refused.value.reason is reason


def test_network_addresses_are_judged_against_the_given_ranges_only() -> None:
    """10.8.0.0 is a host unless a range it sits in starts there."""
    assert str(normalise_address("10.8.0.0")) == "10.8.0.0"
    assert str(normalise_address("10.8.1.0", ranges=[VPN])) == "10.8.1.0"


def test_mapped_address_meets_an_ipv4_exclusion() -> None:
    """::ffff:10.0.0.5 lies in 10.0.0.0/24 once normalised, and in a mapped range too."""
    address = normalise_address("::ffff:10.0.0.5")
    assert contains(ipaddress.ip_network("10.0.0.0/24"), address)
    assert contains(ipaddress.ip_network("::ffff:10.0.0.0/120"), address)
    assert not contains(ipaddress.ip_network("10.0.1.0/24"), address)


def test_ranges_are_unmapped_and_refuse_zone_ids() -> None:
    """A mapped range becomes its IPv4 range; a zone id is refused in a range too."""
    assert str(normalise_range("::ffff:10.0.0.0/120")) == "10.0.0.0/24"
    assert str(normalise_range("198.51.100.7")) == "198.51.100.7/32"
    with pytest.raises(AddressRefused) as refused:
        normalise_range("fe80::%eth0/64")
    assert refused.value.reason is AddressRefusal.ZONE_ID


def _plan(ip: str, *, normalise: bool = True, **settings: object) -> list[tuple[str, str]]:
    from tests.test_policy_engine import NETWORK, alert, snapshot

    scan = alert(name="Device / Network Scan", entities={"ip": ip})
    plan = evaluate(scan, snapshot(NETWORK, **settings), "r", normalise_addresses=normalise)
    return [(a.target, a.excluded_reason) for a in plan.actions]


def test_planning_meets_exclusions_with_the_normalised_address() -> None:
    """::ffff:10.0.0.5 is excluded by 10.0.0.0/24; a mapped outside address is planned as IPv4."""
    excluded = _plan("::ffff:10.0.0.5")
    assert all("excludes 10.0.0.0/24" in why for _, why in excluded)
    assert [target for target, _ in _plan("::ffff:198.51.100.7")] == ["198.51.100.7"] * 2
    assert all(not why for _, why in _plan("::ffff:198.51.100.7"))


def test_planning_refuses_zone_ids_platform_and_protected_broadcasts() -> None:
    """Zone ids, Azure's platform addresses and a protected range's broadcast are excluded."""
    for ip, why in (
        ("fe80::1%eth0", "zone id"),
        ("168.63.129.16", "platform address"),
        ("169.254.169.254", "metadata"),
        ("10.9.0.255", "broadcast address of 10.9.0.0/24"),
    ):
        reasons = [reason for _, reason in _plan(ip, protected_ranges=("10.9.0.0/24",))]
        assert reasons and all(why in reason for reason in reasons), (ip, reasons)


def test_responses_started_before_normalisation_plan_as_they_did() -> None:
    """Without the patch a mapped address is planned verbatim, as recorded histories expect."""
    assert all(not why for _, why in _plan("::ffff:10.0.0.5", normalise=False))
