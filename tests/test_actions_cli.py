"""`riposte act`: one action, its simulation and its revert from the command line."""

from __future__ import annotations

import functools
import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

from riposte.audit.events import AuditFilter, AuditKind
from riposte.audit.store import open_store
from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam

BEN = "ben@contoso.com"

RIPOSTE = Path(sys.executable).parent / "riposte"


def run_act(
    tenant: TenantSettings, *argv: str, data_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `riposte act` in a fresh process configured for the emulator through RIPOSTE_TENANT."""
    config = tenant.model_dump(mode="json")
    if tenant.client_secret is not None:
        config["client_secret"] = tenant.client_secret.get_secret_value()
    env = {**os.environ, "RIPOSTE_TENANT": json.dumps(config)}
    if data_dir is not None:
        env["RIPOSTE_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [str(RIPOSTE), "act", *argv], capture_output=True, text=True, env=env, timeout=120
    )


def test_block_simulate_then_act_then_revert(
    tenant: TenantSettings, emulator_seam: EmulatorSeam, tmp_path: Path
) -> None:
    """--simulate changes nothing; the real run adds the rule; --revert-from its JSON removes it;
    the change and its revert are on the audit trail, with who made them."""
    before = emulator_seam.state()["nsgs"]
    act = functools.partial(run_act, data_dir=tmp_path)
    target = ["block_ports", "--target", "10.8.0.25", "--param", "ports=[445, 9401]"]

    simulated = act(tenant, *target, "--simulate")
    assert simulated.returncode == 0, simulated.stderr
    assert simulated.stdout.startswith("would add Deny rule riposte-")
    assert emulator_seam.state()["nsgs"] == before

    done = act(tenant, *target, "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["changed"] is True
    assert emulator_seam.state()["nsgs"] != before

    undone = act(tenant, "block_ports", "--target", "10.8.0.25", "--revert-from", done.stdout)
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout.startswith("deleted riposte-")
    assert emulator_seam.state()["nsgs"] == before
    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    events = store.query(AuditFilter())
    store.close()
    assert [(e.kind, e.mode, e.actor) for e in events] == [
        (AuditKind.EXECUTED, "manual", getpass.getuser()),
        (AuditKind.REVERTED, "manual", getpass.getuser()),
    ]


def test_protected_targets_are_refused_before_any_call(
    tenant: TenantSettings, emulator_seam: EmulatorSeam
) -> None:
    """An admin command cannot reach a protected account, an account by object id, or a range."""
    for argv in (
        ["disable_sign_in", "--target", "breakglass@contoso.com"],
        ["disable_sign_in", "--target", "5f1c2d3e-0000-4000-8000-000000000001"],
        ["block_outbound", "--target", "0.0.0.0/0"],
    ):
        done = run_act(tenant, *argv)
        assert done.returncode == 2 and "refused" in done.stderr, argv
    assert emulator_seam.calls() == {}


def test_bad_input_exits_2_and_calls_nothing(
    tenant: TenantSettings, emulator_seam: EmulatorSeam
) -> None:
    """A port out of range or a parameter the action does not take is a usage error (exit 2)
    with a clear message, and no call is made."""
    done = run_act(tenant, "block_ports", "--target", "10.8.0.25", "--param", "ports=[70000]")
    assert done.returncode == 2
    assert "a port is a whole number from 1 to 65535, not 70000" in done.stderr
    other = run_act(tenant, "force_password_change", "--target", BEN, "--param", "which=all")
    assert other.returncode == 2
    assert "force_password_change takes no parameter 'which'; it takes: none" in other.stderr
    assert emulator_seam.calls() == {}


def test_new_actions_take_their_parameters_from_the_catalogue(
    tenant: TenantSettings, emulator_seam: EmulatorSeam, tmp_path: Path
) -> None:
    """block_sign_in_from reads its prefix from --param; remove_auth_methods counts its window
    back from --alert-time; both run through the same entry points as the workflow's."""
    act = functools.partial(run_act, data_dir=tmp_path)
    wide = act(tenant, "block_sign_in_from", "--target", "198.51.100.7", "--param", "prefix=24")
    assert wide.returncode == 0, wide.stderr
    assert emulator_seam.state()["named_locations"]["Riposte blocked sign-ins"]["ipRanges"] == [
        "198.51.100.0/24"
    ]
    old = "2020-01-01T00:00:00+00:00"
    argv = ["remove_auth_methods", "--target", "ben@contoso.com", "--alert-time", old]
    simulated = act(tenant, *argv, "--param", "registered_within=1d", "--simulate")
    assert simulated.returncode == 0, simulated.stderr
    assert simulated.stdout.startswith("would delete 2 of 4 authentication methods")


def test_a_failure_from_the_tenant_exits_1_with_its_type(
    tenant: TenantSettings, emulator_seam: EmulatorSeam
) -> None:
    """An unknown user is reported as NotFound, exit 1, without a secret in the output."""
    done = run_act(tenant, "disable_sign_in", "--target", "nobody@contoso.com")
    assert done.returncode == 1
    assert done.stderr.startswith("riposte: NotFound: ")
    secret = tenant.client_secret.get_secret_value() if tenant.client_secret else "unset"
    assert secret not in done.stderr + done.stdout
