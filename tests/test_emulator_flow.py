"""NSG flushConnection through the real azure-mgmt-network client, and the emulator's flow check
(`GET /_emulator/flow`), which decides as Azure does."""

from __future__ import annotations

from azure.mgmt.network.aio import NetworkManagementClient
from azure.mgmt.network.models import SecurityRule

from tenant_emulator.client import EmulatorSeam

VPN_IP = "10.8.0.25"


async def test_flush_connection_reads_and_puts_through_the_sdk(
    network: NetworkManagementClient, emulator_seam: EmulatorSeam
) -> None:
    """flushConnection reads as seeded; a PUT of the NSG with it on keeps its rules and the
    seam shows it set, counted as one applied write."""
    nsg = await network.network_security_groups.get("rg-core", "nsg-vpn")
    assert nsg.flush_connection is False
    servers = await network.network_security_groups.get("rg-core", "nsg-servers")
    assert servers.flush_connection is True
    before = [r.name for r in nsg.security_rules or []]
    nsg.flush_connection = True
    poller = await network.network_security_groups.begin_create_or_update("rg-core", "nsg-vpn", nsg)
    updated = await poller.result()
    assert updated.flush_connection is True
    assert [r.name for r in updated.security_rules or []] == before
    state = emulator_seam.state()["nsgs"]["nsg-vpn"]
    assert state["flushConnection"] is True
    assert [r["name"] for r in state["security_rules"]] == before
    assert emulator_seam.effects()["PUT " + _nsg_template()] == 1


def _nsg_template() -> str:
    return (
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network"
        "/networkSecurityGroups/{nsg}"
    )


def test_demo_seed_lets_the_vpn_device_reach_the_servers(emulator_seam: EmulatorSeam) -> None:
    """Before any block the VPN device reaches the file share, the DCs and the internet, each
    decided by the rule Azure would use."""
    smb = emulator_seam.flow(VPN_IP, "10.0.2.10", 445)
    assert (smb["decision"], smb["nsg"], smb["rule"]) == ("allow", "nsg-servers", "AllowSmbFromVpn")
    ldap = emulator_seam.flow(VPN_IP, "10.0.0.4", 389)
    assert (ldap["decision"], ldap["rule"]) == ("allow", "AllowVnetInBound")
    web = emulator_seam.flow(VPN_IP, "93.184.216.34", 443)
    assert (web["decision"], web["nsg"], web["rule"]) == ("allow", "nsg-vpn", "AllowVpnToInternet")


def test_default_rules_deny_what_nothing_allows(emulator_seam: EmulatorSeam) -> None:
    """Traffic from the internet to a server falls through to DenyAllInBound; UDP from the VPN
    to the internet falls through to AllowInternetOutBound."""
    inbound = emulator_seam.flow("203.0.113.50", "10.0.1.10", 443)
    assert (inbound["decision"], inbound["nsg"], inbound["rule"]) == (
        "deny",
        "nsg-servers",
        "DenyAllInBound",
    )
    udp = emulator_seam.flow(VPN_IP, "93.184.216.34", 123, "udp")
    assert (udp["decision"], udp["rule"]) == ("allow", "AllowInternetOutBound")


async def test_a_deny_in_the_band_beats_the_ordinary_allow_rules(
    network: NetworkManagementClient, emulator_seam: EmulatorSeam
) -> None:
    """A deny-all-outbound rule at priority 100 on nsg-vpn stops the device's traffic to the
    servers (outbound is checked first) while another VPN address still passes."""
    rule = SecurityRule(
        protocol="*",
        access="Deny",
        direction="Outbound",
        priority=100,
        source_address_prefix=VPN_IP,
        source_port_range="*",
        destination_address_prefix="*",
        destination_port_range="*",
    )
    poller = await network.security_rules.begin_create_or_update(
        "rg-core", "nsg-vpn", "riposte-block-outbound", rule
    )
    await poller.result()
    blocked = emulator_seam.flow(VPN_IP, "10.0.2.10", 445)
    assert blocked == {
        "decision": "deny",
        "nsg": "nsg-vpn",
        "rule": "riposte-block-outbound",
        "direction": "Outbound",
        "priority": 100,
    }
    assert emulator_seam.flow("10.8.0.31", "10.0.2.10", 445)["decision"] == "allow"


def test_flow_check_refuses_bad_queries(emulator_seam: EmulatorSeam) -> None:
    """A flow query without a valid address, port or protocol is a 422 naming what is wrong."""
    http = emulator_seam._http
    assert http.get("/flow", params={"src": VPN_IP, "port": 445}).status_code == 422
    bad = http.get("/flow", params={"src": VPN_IP, "dst": "10.0.0.4", "port": 1, "proto": "sctp"})
    assert bad.status_code == 422
