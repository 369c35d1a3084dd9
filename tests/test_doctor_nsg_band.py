"""`riposte doctor` on the NSGs Riposte manages: its band, and whether changes cut live flows."""

from __future__ import annotations

from typing import Any

from azure.mgmt.network.models import SecurityRule, SecurityRulePropertiesFormat

from activities.clients import connect
from activities.nsg_access import wait
from riposte.doctor.report import Status
from riposte.doctor.tenant import check_tenant
from riposte.settings import TenantSettings


async def checks_of(tenant: TenantSettings) -> dict[str, Any]:
    found = await check_tenant(tenant, user=None, actions=frozenset(), call_timeout=10)
    return {check.name: check for check in found}


async def test_the_demo_seed_leaves_the_band_clear_and_reports_flushing(
    tenant: TenantSettings, emulator_seam: Any
) -> None:
    """The seed's allow rules sit below the band; nsg-vpn's flushConnection is reported off."""
    checks = await checks_of(tenant)
    for nsg in ("nsg-servers", "nsg-vpn"):
        assert checks[f"nsg {nsg} band"].status is Status.OK, checks[f"nsg {nsg} band"]
    assert "flushConnection off" in checks["nsg nsg-vpn"].detail
    assert "flushConnection on" in checks["nsg nsg-servers"].detail


async def test_an_allow_rule_above_the_band_fails_the_check_naming_it(
    tenant: TenantSettings, emulator_seam: Any
) -> None:
    """An operator's Allow at priority 120, inside the band, means blocks there might not hold."""
    clients = connect(tenant)
    try:
        props = SecurityRulePropertiesFormat(
            protocol="*",
            access="Allow",
            direction="Outbound",
            priority=120,
            source_address_prefix="10.8.0.0/24",
            source_port_range="*",
            destination_address_prefix="*",
            destination_port_range="*",
        )
        poller = await clients.network.security_rules.begin_create_or_update(
            "rg-core", "nsg-vpn", "AllowVpnEverywhere", SecurityRule(properties=props)
        )
        await wait(poller)
    finally:
        await clients.close()
    check = (await checks_of(tenant))["nsg nsg-vpn band"]
    assert check.status is Status.FAIL
    assert "AllowVpnEverywhere (120, Outbound)" in check.detail
    assert "band 100-149" in check.detail
