"""The shipped network policy on the real stack (Temporal, worker, emulator): the scan alert
blocks 445/9401 and enforces the device's pattern of life, and releasing reverts both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riposte.audit.events import AuditKind
from riposte.response import ActionState, Release
from tests.plugins.temporal import StackFactory
from tests.responses import VPN_IP, all_in, scan_alert, wait_for

SHIPPED = Path(__file__).resolve().parents[1] / "policies" / "network-lateral-movement.yaml"


async def test_shipped_network_policy_enforces_the_pattern_of_life(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """After the response the flow check lets the device reach its usual destinations and
    stops the scans; its executed audit names the allow-list; release removes every rule."""
    before = _rules(emulator_seam)
    stack = await make_stack({"network-lateral-movement": SHIPPED.read_text()})
    rid = (await stack.service.submit(scan_alert())).response_id
    view = await wait_for(stack.service, rid, all_in(ActionState.EXECUTED), within=120)
    assert {a.action.value for a in view.actions} == {"block_ports", "enforce_pattern_of_life"}
    assert emulator_seam.flow(VPN_IP, "10.0.1.12", 443)["decision"] == "allow"
    assert emulator_seam.flow(VPN_IP, "10.0.0.5", 53, "udp")["decision"] == "allow"
    assert emulator_seam.flow(VPN_IP, "10.0.3.20", 445)["decision"] == "deny"
    assert emulator_seam.flow(VPN_IP, "10.0.1.10", 9401)["decision"] == "deny"
    executed = [
        e for e in stack.audit(rid, AuditKind.EXECUTED) if e.action == "enforce_pattern_of_life"
    ]
    assert len(executed) == 1 and "10.0.1.0/24 tcp/443" in str(executed[0].detail)
    for action in view.actions:
        await stack.service.release(Release(action_id=action.action_id, by="carol"))
    assert _rules(emulator_seam) == before  # every rule of ours gone, the others untouched
    assert emulator_seam.state()["nsgs"]["nsg-vpn"]["flushConnection"] is True  # left on


def _rules(seam: Any) -> dict[str, dict[str, Any]]:
    """Each NSG's rules by name, as written (a rewrite changes etags, not these)."""
    return {
        name: {r["name"]: r["properties"] for r in nsg["security_rules"]}
        for name, nsg in seam.state()["nsgs"].items()
    }
