"""`riposte demo` as a newcomer runs it: with no stack running it starts one in its data dir
(Temporal dev server, emulator, worker), replays both seed incidents and prints them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RIPOSTE = Path(sys.executable).parent / "riposte"
SEED_ONE = ("adele", "ben", "chris", "dana", "eli")
PROTECTED = ("breakglass@contoso.com", "quinn@contoso.com")  # the seed's Global Administrators


def riposte(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RIPOSTE), *argv], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_demo_contains_both_incidents_and_its_audit_verifies(tmp_path: Path) -> None:
    """Seed 1 becomes one campaign whose five accounts are contained, seed 2 one incident for
    the VPN device; the Global Administrators are never acted on; the audit verifies."""
    data = ["--data-dir", str(tmp_path / "data")]
    demo = riposte("demo", *data, timeout=600)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    out = demo.stdout
    assert "Traceback" not in demo.stderr
    campaign, device = out.split("Incidents:")[1].split("\n- ")[1:3]
    assert campaign.startswith("ip:198.51.100.7:") and "7 alerts" in campaign
    contained = campaign.split("contained:")[1].splitlines()[0]
    assert all(f"{name}@contoso.com" in contained for name in SEED_ONE)
    assert device.startswith("target:10.8.0.25:") and "11 alerts" in device
    assert "vpn-remote-user (the VPN device)" in device

    listed = riposte("audit", "--format", "json", *data)
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)
    executed = {(e["action"], e["target"]) for e in events if e["kind"] == "executed"}
    assert ("block_sign_in_from", "198.51.100.7") in executed
    assert {("enforce_pattern_of_life", "10.8.0.25"), ("block_ports", "10.8.0.25")} <= executed
    assert not [e for e in events if e["kind"] == "executed" and e["target"] in PROTECTED]
    verified = riposte("audit", "verify", *data)
    assert verified.returncode == 0, verified.stdout + verified.stderr
