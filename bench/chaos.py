"""Chaos under load: a storm of alerts while the tenant throttles and the processes die.

    .venv/bin/python bench/chaos.py [--alerts 500] [--accounts 100] [--devices 20] [--fault 0.3]

On the embedded parts, each its own process where it matters: the Temporal dev server (a SQLite
file) and the Riposte worker (`python worker.py`, configured by environment) run as children;
the tenant emulator serves from this process. While `--alerts` alerts across `--accounts`
accounts (disable_sign_in + revoke_sessions) and `--devices` VPN devices (block_outbound) are
sent, a `--fault` share of Graph calls is answered 429 (Retry-After: 1) and of ARM calls 503,
the worker is SIGKILLed twice, and the Temporal server is stopped and restarted once. The
engine's budgets are lifted (to four times --alerts), or most actions would wait for approval.
A sender that is refused (Temporal down) retries, as alerting systems do; an alert counts as
accepted once intake answered.

It prints one JSON line:
- accepted, contained (every action executed), failed (not contained within --deadline s);
- lost: accepted alerts with no response in Temporal or no alert_received event (must be 0);
- applied_twice: writes the emulator applied beyond what the executed actions allow (must be
  0): one per executed revoke_sessions (harmless to repeat), one per distinct target of
  disable_sign_in (reads first) and block_outbound (one shared rule per device), counted from
  the emulator's effects for the three write routes;
- p50_s and p99_s: time to containment, from acceptance to the response's last executed event;
- wall_s: the whole storm, from the first alert to the last containment or the deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from measure import percentile
from rig import ChildProcess, process_env, riposte_env
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from riposte.alerts import Alert
from riposte.audit.events import AuditFilter, AuditKind
from riposte.audit.store import open_store
from riposte.errors import Unavailable
from riposte.response import ActionState
from riposte.service import ResponseService
from riposte.stack import free_port, temporal_dev_server
from tenant_emulator.faults import Fault
from tenant_emulator.seed import load_seed
from tenant_emulator.server import start_emulator, tenant_settings_for

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "emulator" / "tenant_emulator" / "seed.yaml"
QUEUE = "riposte-chaos"
ACCOUNT, DEVICE = "Chaos / Account takeover", "Chaos / Device scan"
POLICIES = {
    "chaos-account": f"""name: chaos-account
match: {{source: chaos, name: "{ACCOUNT}", entities: [user]}}
mode: autonomous
actions: [disable_sign_in, revoke_sessions]
""",
    "chaos-device": f"""name: chaos-device
match: {{source: chaos, name: "{DEVICE}", entities: [ip]}}
mode: autonomous
actions: [block_outbound]
""",
}
# Emulator effect keys of the writes the storm's actions make, and the action behind each.
EFFECTS = {
    "PATCH /v1.0/users/{id}": "disable_sign_in",
    "POST /v1.0/users/{id}/revokeSignInSessions": "revoke_sessions",
}
NSG_PUT = "securityRules"


def account(n: int) -> str:
    return f"chaos-{n:03d}@contoso.com"


def device(n: int) -> str:
    return f"10.8.0.{100 + n}"


def write_seed(path: Path, accounts: int) -> Path:
    """The shipped demo tenant plus the storm's accounts."""
    seed = yaml.safe_load(SEED.read_text())
    seed["users"] = [
        *seed.get("users", []),
        *({"userPrincipalName": account(n), "displayName": f"C{n}"} for n in range(accounts)),
    ]
    path.write_text(json.dumps(seed))
    return path


def alerts(count: int, accounts: int, devices: int) -> list[Alert]:
    """`count` alerts, one in six about a device, the rest about accounts, interleaved."""
    out = []
    for n in range(count):
        on_device = n % 6 == 5
        entities = {"ip": device(n % devices)} if on_device else {"user": account(n % accounts)}
        out.append(
            Alert.model_validate(
                {
                    "id": f"chaos-{n:04d}",
                    "source": "chaos",
                    "name": DEVICE if on_device else ACCOUNT,
                    "severity": "high",
                    "score": 0.9,
                    "time": datetime.now(UTC),
                    "entities": entities,
                }
            )
        )
    return out


class Storm:
    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args = args
        self.root = root
        self.accepted: dict[str, float] = {}
        self.worker: ChildProcess | None = None
        self.env: dict[str, str] = {}
        self.kills = 0
        self.progress = asyncio.Event()

    async def until_accepted(self, count: float) -> None:
        """Until `count` alerts are accepted (or every sender has given up)."""
        while len(self.accepted) < count:
            self.progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.progress.wait(), 1)

    def start_worker(self) -> None:
        log = self.root / f"worker-{self.kills}.log"
        self.worker = ChildProcess(["worker.py"], self.env, log)

    def kill_worker(self) -> None:
        if self.worker is not None:
            self.worker.process.send_signal(signal.SIGKILL)
            self.worker.process.wait()
        self.kills += 1
        self.start_worker()

    async def send(self, service: ResponseService, alert: Alert) -> None:
        """Send until intake answers, as a sender does when refused."""
        for _ in range(600):
            try:
                await service.submit(alert)
            except (Unavailable, RuntimeError, OSError):
                await asyncio.sleep(0.5)
                continue
            self.accepted.setdefault(alert.key, time.time())
            self.progress.set()
            return
        self.progress.set()


@contextlib.asynccontextmanager
async def temporal(data: Path, port: int) -> AsyncIterator[str]:
    async with temporal_dev_server(data, port, free_port(port + 1000)) as address:
        yield address


async def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    data = root / "data"
    data.mkdir()
    policies = root / "policies"
    policies.mkdir()
    for name, text in POLICIES.items():
        (policies / f"{name}.yaml").write_text(text)
    seed_path = write_seed(root / "seed.json", args.accounts)
    emulator = start_emulator(root / "emulator", seed=seed_path)
    tenant = tenant_settings_for(load_seed(seed_path), emulator.url, emulator.ca_path)
    emulator.state.faults.add(
        Fault(route="graph.*", status=429, retry_after=1, fraction=args.fault)
    )
    emulator.state.faults.add(Fault(route="arm.*", status=503, fraction=args.fault))
    port = free_port(17433)
    storm = Storm(args, root)
    stack = contextlib.AsyncExitStack()
    address = await stack.enter_async_context(temporal(data, port))
    (root / "riposte").mkdir()
    storm.env = riposte_env(process_env(pycache=True), root, address, tenant, QUEUE)
    storm.env["RIPOSTE_POLICIES_DIR"] = str(policies)
    # The storm is about crashes and throttling, not the guardrails: at the default budgets
    # (10 per action, 50 in all per hour) every action past the first few waits for approval.
    lifted = str(4 * args.alerts)
    storm.env["RIPOSTE_GUARDRAILS__BUDGET_PER_ACTION"] = lifted
    storm.env["RIPOSTE_GUARDRAILS__BUDGET_TOTAL"] = lifted
    storm.start_worker()
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    service = ResponseService(client, QUEUE)
    batch = alerts(args.alerts, args.accounts, args.devices)
    begin = time.time()
    gate = asyncio.Semaphore(args.concurrency)

    async def one(alert: Alert) -> None:
        async with gate:
            await storm.send(service, alert)

    sending = [asyncio.ensure_future(one(a)) for a in batch]
    for share in (0.3, 0.6):  # two worker kills, a Temporal restart between them
        await storm.until_accepted(share * len(batch))
        storm.kill_worker()
        if share == 0.3:
            await stack.aclose()
            await asyncio.sleep(2)
            stack = contextlib.AsyncExitStack()
            await stack.enter_async_context(temporal(data, port))
    await asyncio.gather(*sending)
    store = open_store(f"sqlite:///{root / 'riposte' / 'audit.db'}")
    done: dict[str, float] = {}
    deadline = time.time() + args.deadline
    while time.time() < deadline and len(done) < len(storm.accepted):
        for event in store.query(AuditFilter(kind=AuditKind.EXECUTED)):
            done[event.response_id] = max(done.get(event.response_id, 0), event.time.timestamp())
        contained = await contained_ids(service, storm.accepted, done)
        if len(contained) == len(storm.accepted):
            break
        await asyncio.sleep(2)
    wall = time.time() - begin
    contained = await contained_ids(service, storm.accepted, done)
    received = {e.response_id for e in store.query(AuditFilter(kind=AuditKind.ALERT_RECEIVED))}
    allowed = most_writes(await executed_actions(service, storm.accepted))
    effects = dict(emulator.state.effects)
    store.close()
    if storm.worker is not None:
        storm.worker.__exit__(None, None, None)
    await stack.aclose()
    emulator.stop()
    applied = {
        "disable_sign_in": sum(v for k, v in effects.items() if k in _keys("disable_sign_in")),
        "revoke_sessions": sum(v for k, v in effects.items() if k in _keys("revoke_sessions")),
        "block_outbound": sum(
            v for k, v in effects.items() if NSG_PUT in k and k.startswith("PUT")
        ),
    }
    times = [done[rid] - storm.accepted[rid] for rid in contained if rid in done]
    return {
        "alerts": len(batch),
        "accepted": len(storm.accepted),
        "contained": len(contained),
        "lost": len([rid for rid in storm.accepted if rid not in received]),
        "applied_twice": sum(max(0, applied[a] - allowed.get(a, 0)) for a in applied),
        "failed": len(storm.accepted) - len(contained),
        "p50_s": round(percentile(times, 0.5), 2) if times else None,
        "p99_s": round(percentile(times, 0.99), 2) if times else None,
        "wall_s": round(wall, 1),
        "worker_kills": storm.kills,
        "temporal_restarts": 1,
        "fault_share": args.fault,
        "effects": applied,
        "most_writes": allowed,
    }


def _keys(action: str) -> set[str]:
    return {key for key, name in EFFECTS.items() if name == action}


async def contained_ids(
    service: ResponseService, accepted: dict[str, float], done: dict[str, float]
) -> set[str]:
    """Responses whose every action is executed (checked only once one executed event is in)."""
    out = set()
    for rid in accepted:
        if rid not in done:
            continue
        with contextlib.suppress(Exception):
            view = await service.view(rid)
            if view.actions and all(a.state is ActionState.EXECUTED for a in view.actions):
                out.add(rid)
    return out


async def executed_actions(
    service: ResponseService, accepted: dict[str, float]
) -> dict[str, tuple[int, set[str]]]:
    """Executed actions by action: how many, and on how many distinct targets."""
    found: dict[str, tuple[int, set[str]]] = {}
    for rid in accepted:
        with contextlib.suppress(Exception):
            for action in (await service.view(rid)).actions:
                if action.state is ActionState.EXECUTED:
                    count, targets = found.get(action.action.value, (0, set()))
                    found[action.action.value] = (count + 1, targets | {action.target})
    return found


def most_writes(executed: dict[str, tuple[int, set[str]]]) -> dict[str, int]:
    """The writes each action may cause at most when nothing is applied twice.

    revoke_sessions is harmless to repeat, so every executed one POSTs; disable_sign_in reads
    the state first and block_outbound shares one rule per device, so each target is written
    once, however many responses (and retries after a lost result) execute on it."""
    return {
        action: count if action == "revoke_sessions" else len(targets)
        for action, (count, targets) in executed.items()
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--fault", type=float, default=0.3, help="share of calls refused")
    parser.add_argument("--concurrency", type=int, default=32, help="alerts in flight")
    parser.add_argument("--deadline", type=float, default=600, help="seconds to contain all")
    return parser.parse_args(argv)


def main() -> None:
    args = parse()
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory(prefix="riposte-chaos-") as tmp:
        print(json.dumps(asyncio.run(run(args, Path(tmp)))))


if __name__ == "__main__":
    main()
