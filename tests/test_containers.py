"""The images and the stack, built and run for real, offline: docker/build-offline, then
docker/compose.yaml with docker/compose.offline.yaml, started by docker/podman-stack.

The build reaches only Debian's archive (debootstrap) and PyPI (the locked wheels) from this
host; the images build with no network. The demo's alerts go through the published API from
outside the containers, and the audit is read in the PostgreSQL container. Skipped, with the
reason, only where podman, debootstrap or docker-compose is missing (`make test` installs them
as root with apt-get), or where we are not root (debootstrap needs it).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
DEMO_ALERTS = ROOT / "riposte" / "demo_alerts.json"
UNSETTLED = {"planned", "pending_approval"}
T = TypeVar("T")

pytestmark = pytest.mark.timeout(2400)


def missing_engine() -> str:
    for tool, package in (
        ("podman", "podman"),
        ("debootstrap", "debootstrap"),
        ("docker-compose", "docker-compose"),
    ):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package {package}; make test installs it)"
    if os.geteuid() != 0:
        return "debootstrap and rootful podman need root"
    return ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def eventually(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    """The first value `probe` gives that is not None, polled every second up to `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(1)


class Stack:
    """The running stack: its project name, environment and published API."""

    def __init__(self, project: str, env: dict[str, str], api: str) -> None:
        self.project, self.env, self.api = project, env, api

    def container(self, service: str) -> str:
        return f"{self.project}_{service}"

    def podman(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def exec(self, service: str, *command: str) -> subprocess.CompletedProcess[str]:
        return self.podman("exec", self.container(service), *command)


def run(command: list[str], env: dict[str, str], timeout: float) -> None:
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr[-4000:]}"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    reason = missing_engine()
    if reason:
        pytest.skip(reason)
    env = dict(os.environ)
    if not Path("/etc/containers/containers.conf").exists():
        env.setdefault("CONTAINERS_CONF", str(DOCKER / "offline" / "containers.conf"))
    ports = {name: free_port() for name in ("API", "UI", "TEMPORAL", "METRICS")}
    env |= {f"PUBLISH_{name}_PORT": str(port) for name, port in ports.items()}
    project = f"riposte-test-{uuid.uuid4().hex[:8]}"
    run([str(DOCKER / "build-offline")], env, timeout=1800)
    stack_command = [
        sys.executable,
        str(DOCKER / "podman-stack"),
        "-p",
        project,
    ]
    files = ["-f", str(DOCKER / "compose.yaml"), "-f", str(DOCKER / "compose.offline.yaml")]
    demo = ["--env-file", str(DOCKER / "demo.env"), "--profile", "demo"]
    try:
        run([*stack_command, *files, *demo, "up"], env, timeout=900)
        api = f"http://127.0.0.1:{ports['API']}"

        def healthy() -> bool | None:
            try:
                return httpx.get(f"{api}/healthz", timeout=5).status_code == 200 or None
            except httpx.HTTPError:
                return None

        eventually(healthy, 180, "the API's /healthz")
        yield Stack(project, env, api)
    finally:
        subprocess.run(
            [*stack_command, "down", "--volumes"],
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )


def token(stack: Stack, role: str) -> str:
    name = f"test-{role}-{uuid.uuid4().hex[:6]}"
    create = ["riposte", "token", "create", "--role", role, "--name", name]
    if role == "sender" and "--source" in stack.exec("api", *create[:3], "--help").stdout:
        create += ["--source", "darktrace"]
    done = stack.exec("api", *create)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_demo_alerts_sent_through_the_api_complete_and_the_audit_verifies(
    stack: Stack,
) -> None:
    """Every demo alert posted to the published API gets a response that settles (the network
    intrusion blocked, ben@'s containment approved, adele@'s decided, nothing failed), the
    NSG rules land in the emulated tenant, and the audit in PostgreSQL verifies."""
    sender = {"Authorization": f"Bearer {token(stack, 'sender')}"}
    approver = {"Authorization": f"Bearer {token(stack, 'approver')}"}
    run_id = uuid.uuid4().hex[:6]
    alerts = [{**a, "id": f"{a['id']}-{run_id}"} for a in json.loads(DEMO_ALERTS.read_text())]
    with httpx.Client(base_url=stack.api, timeout=30) as http:
        ids = []
        for alert in alerts:
            answer = http.post("/v1/alerts", json=alert, headers=sender)
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["response_id"])

        def view(response_id: str) -> dict[str, Any]:
            answer = http.get(f"/v1/responses/{response_id}", headers=approver)
            return answer.json() if answer.status_code == 200 else {}

        def planned(response_id: str) -> dict[str, Any] | None:
            found = view(response_id)
            done = found.get("matched") or found.get("no_match_reason")
            actions = found.get("actions", [])
            return found if done and not any(a["state"] == "planned" for a in actions) else None

        views = {
            rid: eventually(functools.partial(planned, rid), 240, f"{rid} planned") for rid in ids
        }
        for found in views.values():
            user = found["alert"]["entities"].get("user")
            for action in found["actions"]:
                if action["state"] != "pending_approval":
                    continue
                path = f"/v1/approvals/{action['action_id']}"
                if user == "ben@contoso.com":
                    answer = http.post(f"{path}/approve", json={"comment": "ok"}, headers=approver)
                else:
                    answer = http.post(
                        f"{path}/reject", json={"reason": "travel"}, headers=approver
                    )
                assert answer.status_code == 200, answer.text

        def settled(response_id: str) -> dict[str, Any] | None:
            found = view(response_id)
            states = {a["state"] for a in found.get("actions", [])}
            return found if found and not states & UNSETTLED else None

        final = {
            rid: eventually(functools.partial(settled, rid), 240, f"{rid} settled") for rid in ids
        }
    by_target: dict[tuple[str, str], set[str]] = {}
    states = []
    for found in final.values():
        entities = found["alert"]["entities"]
        key = entities.get("user") or entities.get("ip")
        for action in found["actions"]:
            by_target.setdefault((key, action["action"]), set()).add(action["state"])
            states.append((action["action"], action["state"]))
    assert "failed" not in {state for _, state in states}, states
    assert by_target[("ben@contoso.com", "disable_sign_in")] == {"executed"}, by_target
    # adele@'s is rejected, unless the campaign policy escalated it to autonomous first.
    assert by_target[("adele@contoso.com", "disable_sign_in")] <= {"rejected", "executed"}
    assert ("block_ports", "executed") in states
    outbound = {"block_outbound", "enforce_pattern_of_life"}  # the shipped policy's choice
    assert any(action in outbound and state == "executed" for action, state in states), states
    on_breakglass = {
        action["state"]
        for found in final.values()
        for action in found["actions"]
        if action["target"] == "breakglass@contoso.com"
    }
    assert on_breakglass <= {"excluded"}, by_target  # the protected account is never acted on

    seam = (
        "import json, ssl, urllib.request; "
        "ctx = ssl.create_default_context(cafile='/var/lib/riposte-emulator/emulator-ca.pem'); "
        "state = json.load(urllib.request.urlopen("
        "'https://127.0.0.1:8443/_emulator/state', context=ctx)); "
        "print(json.dumps([r['properties'] for nsg in state['nsgs'].values() "
        "for r in nsg['security_rules']]))"
    )
    rules = stack.exec("worker", "python", "-c", seam)
    assert rules.returncode == 0, rules.stderr
    denies = [
        (rule["direction"], sorted(rule.get("destinationPortRanges") or []))
        for rule in json.loads(rules.stdout)
        if rule["access"] == "Deny" and rule.get("sourceAddressPrefix") == "10.8.0.25"
    ]
    assert ("Inbound", ["445", "9401"]) in denies, denies
    assert "Outbound" in {direction for direction, _ in denies}, denies

    count = stack.exec(
        "postgres",
        "psql",
        "--username=postgres",
        "--dbname=riposte_audit",
        "--tuples-only",
        "--no-align",
        "--command=SELECT count(*) FROM audit_events",
    )
    assert count.returncode == 0, count.stderr
    assert int(count.stdout.strip()) >= len(alerts)
    verify = stack.exec("worker", "riposte", "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_the_worker_and_the_api_run_unprivileged(stack: Stack) -> None:
    """Every process in the worker's and the API's containers runs as uid 10001, not root."""
    for service in ("worker", "api"):
        status = stack.exec(service, "sh", "-c", "cat /proc/[0-9]*/status")
        assert status.returncode == 0, status.stderr
        uids = {
            uid
            for line in status.stdout.splitlines()
            if line.startswith("Uid:")
            for uid in line.split()[1:]
        }
        assert uids == {"10001"}, (service, uids)


def test_the_image_holds_no_emulator_no_test_tools_and_stays_small(stack: Stack) -> None:
    """The Riposte image can import neither the tenant emulator nor any dev tool, holds no
    tenant_emulator file at all, and weighs less than 700 MB."""
    image = "localhost/riposte:latest"
    modules = ["tenant_emulator", "pytest", "playwright", "mypy", "ruff", "schemathesis", "pip"]
    probe = (
        "import importlib.util, json; "
        f"print(json.dumps([m for m in {modules!r} if importlib.util.find_spec(m)]))"
    )
    found = stack.podman("run", "--rm", "--entrypoint", "python", image, "-c", probe)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout) == []
    files = stack.podman(
        "run", "--rm", "--entrypoint", "find", image, "/app", "/usr", "-name", "tenant_emulator*"
    )
    assert files.returncode == 0, files.stderr
    assert files.stdout.strip() == ""
    size = stack.podman("image", "inspect", "--format", "{{.Size}}", image)
    assert int(size.stdout.strip()) < 700_000_000
