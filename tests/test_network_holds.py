"""DESIGN.md's network policy on the demo seed: its blocks really stop traffic (emulator flow)."""

from __future__ import annotations

from typing import Any

from riposte.response import ActionState
from tests.plugins.temporal import StackFactory
from tests.responses import network_policy, scan_alert, wait_for

POLICY = network_policy("autonomous")  # block_ports 445/9401 and block_outbound, for 2h
DEVICE = "10.8.0.25"
INTRANET, FILES = "10.0.1.4", "10.0.2.4"


async def test_block_outbound_on_the_demo_seed_stops_traffic_to_the_servers(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Before the response the device reaches the servers; after it, Riposte's rules deny it."""
    assert emulator_seam.flow(DEVICE, INTRANET, 443)["decision"] == "allow"
    assert emulator_seam.flow(DEVICE, FILES, 445)["decision"] == "allow"
    stack = await make_stack({"network-lateral-movement": POLICY})
    rid = (await stack.service.submit(scan_alert(DEVICE))).response_id
    view = await wait_for(
        stack.service,
        rid,
        lambda v: len(v.actions) == 2 and all(a.state is ActionState.EXECUTED for a in v.actions),
    )
    for dst, port in ((INTRANET, 443), (FILES, 445), (FILES, 9401), ("203.0.113.9", 443)):
        verdict = emulator_seam.flow(DEVICE, dst, port)
        assert verdict["decision"] == "deny", (dst, port, verdict)
        assert verdict["nsg"] == "nsg-vpn" and verdict["rule"].startswith("riposte-")
    assert emulator_seam.state()["nsgs"]["nsg-vpn"]["flushConnection"] is True
    assert all("would not hold" not in a.change for a in view.actions)
    assert emulator_seam.flow("10.8.0.26", INTRANET, 443)["decision"] == "allow", "only the device"
