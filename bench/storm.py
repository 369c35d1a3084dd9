"""A storm of alerts through the API, on the embedded stack, until every response is done.

    .venv/bin/python bench/storm.py                  # 10,000 alerts
    .venv/bin/python bench/storm.py --alerts 500     # a quick proof that it runs

Everything runs from a temporary data dir, as bench/throughput.py builds it: the Temporal dev
server on SQLite, the HTTPS tenant emulator (bench/tenant_probe.py) seeded with one user per
acting alert, `python worker.py` and `riposte serve`, each its own process. The bench posts
`--batch` alerts per request (a JSON array), `--in-flight` requests at a time, as fast as the API
answers them, then waits until no RespondToAlert workflow runs.

The mix: one alert in `--acting-every` (5) matches an autonomous policy with one irreversible
action (revoke_sessions against the emulator), so its response ends once it has acted; the rest
match no policy. The engine-wide budgets (10 per action, 50 in all, per hour) would hold back
every action past those, so the bench LIFTS them (RIPOSTE_GUARDRAILS__BUDGET_PER_ACTION and
_TOTAL set to twice the alerts): it measures the engine, not the guardrail.

It prints one JSON line: accepted/s, drained seconds (first post to no response running), lost
(accepted alerts without a completed response: must be 0), failed, peak resident memory
(VmHWM) of the worker, the API and the Temporal server, the load average, and the path of the
backlog plot (PNG: responses running and alerts accepted over time), written to `--plot`.
Exit 1 if any alert is lost or refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
from rig import ChildProcess, process_env, riposte_env, user, wait_for_tenant, write_seed
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from riposte.api.tokens import Role, TokenStore
from riposte.stack import free_port, temporal_dev_server
from tenant_emulator.seed import load_seed
from tenant_emulator.server import tenant_settings_for
from tenant_emulator.tls import ensure_certificates

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
ACTING, PASSIVE = "Bench / Storm / Contain", "Bench / Storm / Nothing"
POLICY = f"""
name: bench-storm
match: {{source: bench, name: "{ACTING}", entities: [user]}}
mode: autonomous
actions: [revoke_sessions]
"""
RUNNING = "WorkflowType = 'RespondToAlert' AND ExecutionStatus = 'Running'"
CLOSED = "WorkflowType = 'RespondToAlert' AND ExecutionStatus != 'Running'"


def alert(run: str, n: int, acting_every: int) -> dict[str, Any]:
    acts = acting_every > 0 and n % acting_every == 0
    entities: dict[str, str] = {"ip": f"192.0.2.{n % 250 + 1}"}
    if acts:
        entities["user"] = user(n // acting_every)
    return {
        "id": f"storm-{run}-{n}",
        "source": "bench",
        "name": ACTING if acts else PASSIVE,
        "severity": "high" if acts else "low",
        "score": 0.9 if acts else 0.1,
        "time": datetime.now(UTC).isoformat(),
        "entities": entities,
    }


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def temporal_pid() -> int:
    for child in psutil.Process().children(recursive=True):
        if child.name() == "temporal":
            return int(child.pid)
    raise RuntimeError("no temporal child process")


class Storm:
    def __init__(self, args: argparse.Namespace, http: httpx.AsyncClient, client: Client) -> None:
        self.args, self.http, self.client = args, http, client
        self.accepted: list[str] = []
        self.refused: dict[int, int] = {}
        self.began = time.monotonic()
        self.sent_at: float | None = None
        self.curve: list[tuple[float, int, int]] = []  # seconds, running, accepted

    async def send(self) -> None:
        run, args = uuid.uuid4().hex[:8], self.args
        starts = list(range(0, args.alerts, args.batch))
        gate = asyncio.Semaphore(args.in_flight)

        async def post(start: int) -> None:
            end = min(start + args.batch, args.alerts)
            body = [alert(run, n, args.acting_every) for n in range(start, end)]
            async with gate:
                answer = await self.http.post("/v1/alerts", json=body)
            if answer.status_code not in (200, 202, 207):
                self.refused[answer.status_code] = self.refused.get(answer.status_code, 0) + len(
                    body
                )
                return
            for item in answer.json()["items"]:
                if item["status"] == 202:
                    self.accepted.append(item["response_id"])
                else:
                    self.refused[item["status"]] = self.refused.get(item["status"], 0) + 1

        await asyncio.gather(*(post(s) for s in starts))
        self.sent_at = time.monotonic() - self.began

    async def watch(self) -> float:
        """Sample the backlog every --every seconds; return when the storm is drained."""
        deadline = self.began + self.args.drain_timeout
        while time.monotonic() < deadline:
            running = (await self.client.count_workflows(RUNNING)).count
            now = time.monotonic() - self.began
            self.curve.append((round(now, 2), running, len(self.accepted)))
            if self.sent_at is not None and running == 0:
                return now
            await asyncio.sleep(self.args.every)
        raise TimeoutError(f"responses still running after {self.args.drain_timeout}s")

    async def lost(self) -> tuple[list[str], int]:
        """Accepted alerts with no completed response, and how many responses did not complete."""
        completed: set[str] = set()
        failed = 0
        async for wf in self.client.list_workflows(CLOSED):
            if wf.status is not None and wf.status.name == "COMPLETED":
                completed.add(wf.id)
            else:
                failed += 1
        return [i for i in self.accepted if i not in completed], failed


def plot(curve: list[tuple[float, int, int]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = [c[0] for c in curve]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    ax.plot(seconds, [c[1] for c in curve], label="responses running (backlog)")
    ax.plot(seconds, [c[2] for c in curve], label="alerts accepted", linestyle="--")
    ax.set_xlabel("seconds since the first post")
    ax.set_ylabel("alerts")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="riposte-storm-") as tmp:
        root = Path(tmp)
        (root / "riposte").mkdir()
        (root / "policies").mkdir()
        (root / "policies" / "bench-storm.yaml").write_text(POLICY)
        acting = args.alerts // args.acting_every + 1 if args.acting_every else 0
        seed = write_seed(root / "seed.json", acting)
        ca = ensure_certificates(root / "tenant").ca_path
        port = free_port(0)
        url = f"https://127.0.0.1:{port}"
        env = process_env(pycache=False)
        argv = [str(BENCH / "tenant_probe.py"), str(root / "tenant"), str(seed), str(port)]
        with ChildProcess(argv, env, root / "tenant.log") as tenant:
            await wait_for_tenant(url, ca, tenant)
            async with temporal_dev_server(root, free_port(0), free_port(0)) as address:
                client = await Client.connect(address, data_converter=pydantic_data_converter)
                settings = tenant_settings_for(load_seed(seed), url, ca)
                lifted = str(max(2 * args.alerts, 100))
                riposte = {
                    **riposte_env(env, root, address, settings, f"storm-{uuid.uuid4().hex[:6]}"),
                    "RIPOSTE_GUARDRAILS__BUDGET_PER_ACTION": lifted,
                    "RIPOSTE_GUARDRAILS__BUDGET_TOTAL": lifted,
                }
                token = TokenStore.in_data_dir(root / "riposte").create(
                    Role.ADMIN, "bench-storm", expires_in=timedelta(hours=6)
                )
                api_port = free_port(0)
                serve = ["-c", "from riposte.cli import main; main()", "serve"]
                serve += ["--port", str(api_port)]
                with (
                    ChildProcess([str(ROOT / "worker.py")], riposte, root / "worker.log") as w,
                    ChildProcess(serve, riposte, root / "api.log") as api,
                ):
                    result = await storm(args, client, f"http://127.0.0.1:{api_port}", token)
                    result["peak_rss_mb"] = {
                        "worker": w.peak_rss_mb(),
                        "api": api.peak_rss_mb(),
                        "temporal_server": peak_rss_mb(temporal_pid()),
                    }
    after = os.getloadavg()
    result["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in after],
    }
    result["cpus"] = os.cpu_count()
    result["budgets"] = f"lifted to {lifted} per action and in all"
    plot(
        result.pop("curve"),
        args.plot,
        f"storm: {args.alerts} alerts, batches of {args.batch}; "
        f"load {load_before[0]:.1f} on {os.cpu_count()} cores",
    )
    result["plot"] = str(args.plot)
    return result


async def storm(args: argparse.Namespace, client: Client, api: str, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=120) as http:
        for _ in range(300):
            try:
                if (await http.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        bench = Storm(args, http, client)
        watcher = asyncio.create_task(bench.watch())
        await bench.send()
        drained = await watcher
        lost, failed = await bench.lost()
    sent = bench.sent_at or float("nan")
    return {
        "alerts": args.alerts,
        "batch": args.batch,
        "in_flight": args.in_flight,
        "acting": f"1 in {args.acting_every}" if args.acting_every else "none",
        "accepted": len(bench.accepted),
        "refused": bench.refused,
        "sent_seconds": round(sent, 2),
        "accepted_per_s": round(len(bench.accepted) / sent, 1),
        "drained_seconds": round(drained, 2),
        "drained_per_s": round(len(bench.accepted) / drained, 1),
        "peak_backlog": max((c[1] for c in bench.curve), default=0),
        "lost": len(lost),
        "lost_examples": lost[:5],
        "failed": failed,
        "curve": bench.curve,
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000, help="alerts to send (10000)")
    parser.add_argument("--batch", type=int, default=100, help="alerts per request (100)")
    parser.add_argument("--in-flight", type=int, default=4, help="requests at a time (4)")
    parser.add_argument(
        "--acting-every", type=int, default=5, help="one alert in N acts; 0: none (5)"
    )
    parser.add_argument("--every", type=float, default=1.0, help="backlog sample, seconds (1)")
    parser.add_argument("--drain-timeout", type=float, default=3600.0, help="seconds (3600)")
    parser.add_argument("--plot", type=Path, default=Path("storm.png"), help="(storm.png)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    outcome = asyncio.run(main(parse()))
    print(json.dumps(outcome), flush=True)
    sys.exit(1 if outcome["lost"] or outcome["refused"] else 0)
