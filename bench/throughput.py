"""Riposte responses against bare Temporal, on the embedded stack, in one run.

    .venv/bin/python bench/throughput.py [--alerts 150] [--waiting 1000] [--breakdown]

Everything runs from a temporary data dir: the Temporal dev server on SQLite with the WAL pragmas
(`riposte.stack.temporal_dev_server`), the HTTPS tenant emulator in its own process
(bench/tenant_probe.py, which stamps each Graph write on arrival), and each worker as its own
process so that its CPU and memory can be read: bench/bare.py for bare Temporal, and
`python worker.py` for Riposte, configured by environment variables as in production.

Phases, each after a warm-up; "idle" ones send one alert at a time:

    (a1)  bare workflow, one no-op activity: the "one activity round trip" yardstick;
    (a)   bare workflow of no-op activities shaped like (b2), counted from a (b2) warm-up
          response's history: the snapshot as a local activity, the opening audit write, two
          actions at once, each followed by its audit write (local or regular, as Riposte does);
    (a+sdk) the (a) shape whose two action activities make (b2)'s msgraph-sdk calls against the
          emulator (read the user then PATCH accountEnabled; POST revokeSignInSessions), on the
          client Riposte builds, with no policy, audit or bookkeeping: a fairer limit for (b2);
    (b1)  Riposte responses to alerts that match no policy;
    (b2)  Riposte responses to alerts that match an autonomous policy with two actions
          (disable_sign_in, revoke_sessions; no duration) against the emulator;
    (d)   the (b2) responses again, each alert also joined to its incident (signal-with-start on
          `TrackIncident`, ten alerts per attacker IP); (b1) to (c) send without the join;
    (b2 no budget)  (b2) on a second worker whose budgets are off (no ledger transaction):
          with (b2), whose worker has budgets on but too high to trip, it prices the budget
          check per action;
    (c)   `--waiting` responses left waiting for approval (human-confirm, the same two actions);
          the worker's peak resident memory (VmHWM) is read once they all wait.

Throughput phases keep `--concurrency` alerts in flight (each slot submits one and waits for its
result); alerts/s is alerts over the phase's wall time. Alert-to-first-action latency runs from
just before `ResponseService.submit` to the emulator's receipt of the first Graph write for the
alert's user (for bare Temporal, to the start of its first action activity). `--breakdown` adds
bare variants that price one Riposte cost each; `--waiting 0` skips (c). The last line is one
JSON object, the (b2)/(a) throughput ratio its last key. Aims are reported, not enforced: exit 1
only if a response failed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit_watch import AuditWatch
from bare import STATUS, Shape
from incident_phase import incident_ip, incident_join
from measure import (
    CpuMeter,
    Phase,
    Sample,
    budget_cost,
    closed_loop,
    history_shape,
    percentile,
    spend_ms,
)
from rig import (
    ChildProcess,
    first_writes,
    process_env,
    riposte_env,
    user,
    wait_for_tenant,
    write_seed,
)
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter

from riposte.alerts import Alert
from riposte.audit.events import AuditKind
from riposte.response import ResponseView
from riposte.service import ResponseService
from riposte.settings import IncidentSettings
from riposte.stack import free_port, temporal_dev_server
from tenant_emulator.seed import load_seed
from tenant_emulator.server import tenant_settings_for
from tenant_emulator.tls import ensure_certificates

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WARMUP = 5
RESPONSE_TIMEOUT = 120.0  # seconds before a response that has not finished counts as failed
MATCH, CONFIRM, NOTHING = "Bench / Contain", "Bench / Confirm", "Bench / Nothing"
ACTIONS = ("disable_sign_in", "revoke_sessions")
POLICIES = {
    "bench-contain": f"""
name: bench-contain
match: {{source: bench, name: "{MATCH}", entities: [user]}}
mode: autonomous
actions: [{", ".join(ACTIONS)}]
""",
    "bench-confirm": f"""
name: bench-confirm
match: {{source: bench, name: "{CONFIRM}", entities: [user]}}
mode: human-confirm
approval: {{timeout: 24h, on_timeout: expire}}
actions: [{", ".join(ACTIONS)}]
""",
}
UNTRIPPED = {"budget_per_action": 10**9, "budget_total": 10**9}  # the check runs, never trips
NO_BUDGETS = {"budget_per_action": None, "budget_total": None}  # no check at all
ONE_ACTIVITY = Shape(snapshot=False, opening_audit=False, actions=1, audit_per_action=False)


def mirror(b2: dict[str, int]) -> Shape:
    """The bare shape of a (b2) response: every step but the snapshot and the actions is an
    audit write, so a second local activity means that audit writes are local."""
    return Shape(actions=len(ACTIONS), audit_local=b2["local_activities"] > 1)


def variants(a: Shape) -> dict[str, Shape]:
    """--breakdown: the bare (a) shape with one of Riposte's costs added or removed."""
    return {
        "a audit local" if not a.audit_local else "a audit regular": dataclasses.replace(
            a, audit_local=not a.audit_local
        ),
        "a +status attribute": dataclasses.replace(a, status_upserts=True),
        "a -audit per action": dataclasses.replace(a, audit_per_action=False),
        "a +simulate": dataclasses.replace(a, simulate_first=True),
        "a unsandboxed": dataclasses.replace(a, sandboxed=False),
        "a shaped like b1": dataclasses.replace(a, actions=0, status_upserts=True),
        "a shaped like b1, audit local": dataclasses.replace(
            a, actions=0, status_upserts=True, audit_local=True
        ),
    }


def make_alert(name: str, n: int, ip: str = "192.0.2.7") -> Alert:
    return Alert.model_validate(
        {
            "id": f"bench-{uuid.uuid4().hex}",
            "source": "bench",
            "name": name,
            "severity": "high",
            "score": 0.9,
            "time": datetime.now(UTC),
            "entities": {"user": user(n), "ip": ip},
        }
    )


class Bench:
    """The running stack, and every phase measured on it."""

    def __init__(self, args: argparse.Namespace, client: Client, tenant: str, ca: Path) -> None:
        self.executed: AuditWatch  # set once the worker has opened the audit store
        self.args = args
        self.client = client
        self.tenant = tenant
        self.ca = ca
        self.service = ResponseService(client, args.riposte_queue, IncidentSettings(join=False))
        self.joining = ResponseService(client, args.riposte_queue)  # (d): joins incidents
        self.unbudgeted = ResponseService(
            client, args.riposte_queue + "-no-budget", IncidentSettings(join=False)
        )
        self.next_user = 0
        self.merged: dict[str, Phase] = {}  # a phase's rounds, merged
        self.order: list[str] = []
        self.cpu = CpuMeter()

    def users(self, count: int) -> range:
        start, self.next_user = self.next_user, self.next_user + count
        return range(start, start + count)

    async def bare(self, name: str, shape: Shape, count: int, concurrency: int = 0) -> Phase:
        """Bare responses; with `shape.sdk`, each acts on a seeded user of its own."""
        extra: dict[str, Any] = {}
        if shape.status_upserts:  # started the way ResponseService.submit starts a response
            pairs = [SearchAttributePair(STATUS, "running")]
            extra = {"search_attributes": TypedSearchAttributes(pairs), "memo": {"a": name}}

        async def one(n: int) -> Sample:
            wid = f"bare-{uuid.uuid4().hex}"
            submitted = time.time()
            run = self.client.execute_workflow(
                shape.workflow,
                dataclasses.replace(shape, user=user(n)) if shape.sdk else shape,
                id=wid,
                task_queue=self.args.bare_queue,
                result_type=float,
                **extra,
            )
            first: float = await asyncio.wait_for(run, RESPONSE_TIMEOUT)
            return Sample(wid, submitted, time.time(), ok=True, first_action=first or None)

        numbers = self.users(count) if shape.sdk else range(count)
        return await self.measure(name, numbers, concurrency, one)

    async def riposte(
        self,
        name: str,
        alert_name: str,
        count: int,
        concurrency: int = 0,
        service: ResponseService | None = None,
        *,
        join: bool = False,
    ) -> Phase:
        """Responses to `count` alerts. One that acts is done once every action's `executed`
        event is in the audit: with no duration, its actions are then held until released, so
        the bench terminates those responses afterwards, outside the measurement. With `join`,
        each alert also joins its incident (ten alerts per attacker IP)."""
        service = service or (self.joining if join else self.service)

        async def one(n: int) -> Sample:
            alert = make_alert(alert_name, n, incident_ip(n) if join else "192.0.2.7")
            submitted = time.time()
            await service.submit(alert)
            if alert_name == MATCH:
                done = await self.executed.reached(alert.key, len(ACTIONS), RESPONSE_TIMEOUT)
                return Sample(alert.key, submitted, done or time.time(), done is not None, user(n))
            handle = self.client.get_workflow_handle(alert.key, result_type=ResponseView)
            view = await asyncio.wait_for(handle.result(), RESPONSE_TIMEOUT)
            return Sample(alert.key, submitted, time.time(), ok=not view.actions, user=user(n))

        # Alerts that match nothing name users outside the seed, which stays small.
        numbers = self.users(count) if alert_name != NOTHING else range(-count, 0)
        phase = await self.measure(
            name, numbers, concurrency, one, lambda: first_writes(self.tenant, self.ca)
        )
        if alert_name == MATCH:
            await self.terminate([s.id for s in phase.samples])
        return phase

    async def terminate(self, ids: list[str]) -> None:
        gate = asyncio.Semaphore(self.args.concurrency)

        async def end(wid: str) -> None:
            async with gate:
                await self.client.get_workflow_handle(wid).terminate(reason="bench: measured")

        await asyncio.gather(*(end(wid) for wid in ids))

    async def measure(
        self,
        name: str,
        numbers: Iterable[int],
        concurrency: int,
        one: Callable[[int], Awaitable[Sample]],
        firsts: Callable[[], Awaitable[dict[str, float]]] | None = None,
    ) -> Phase:
        cpu = self.cpu.reading()
        samples, seconds = await closed_loop(numbers, concurrency or 1, one)
        spent = self.cpu.spent(cpu, self.cpu.reading())
        if firsts is not None:
            first = await firsts()
            for s in samples:
                s.first_action = first.get(s.user)
        shape = await history_shape(self.client, samples[-1].id)
        phase = Phase(name, samples, seconds, shape, spent)
        if name in self.merged:
            self.merged[name] = self.merged[name].merged(phase)
        else:
            self.merged[name] = phase
            self.order.append(name)
        return phase

    async def hold_waiting(self, worker: ChildProcess, count: int, db: Path) -> dict[str, Any]:
        """Start `count` human-confirm responses, wait until every action waits, read memory."""
        gate = asyncio.Semaphore(self.args.concurrency)
        expected = count * len(ACTIONS)
        rss_before = worker.rss_mb()
        cpu = self.cpu.reading()
        began = time.time()

        async def submit(n: int) -> None:
            async with gate:
                await self.service.submit(make_alert(CONFIRM, n))

        async with AuditWatch(db, AuditKind.APPROVAL_REQUESTED, interval=0.5) as requests:
            await asyncio.gather(*(submit(n) for n in self.users(count)))
            seen = await requests.total_reached(expected, within=900)
        waiting = time.time()
        spent, per = self.cpu.spent(cpu, self.cpu.reading()), max(count, 1)
        await asyncio.sleep(2)
        result = {
            "responses": count,
            "actions_waiting": seen,
            "expected": expected,
            "seconds_to_all_waiting": round(waiting - began, 1),
            "responses_per_s_to_waiting": round(count / max(waiting - began, 1e-9), 1),
            "worker_rss_mb_before": rss_before,
            "worker_rss_mb_waiting": worker.rss_mb(),
            "worker_peak_rss_mb": worker.peak_rss_mb(),
            "cpu_ms_per_response": {k: round(v * 1000 / per, 1) for k, v in spent.items()},
        }
        print(f"(c) waiting: {result}", flush=True)
        return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started, load_before = time.monotonic(), load_average()
    with tempfile.TemporaryDirectory(prefix="riposte-bench-") as tmp:
        root = Path(tmp)
        (root / "riposte").mkdir()
        (root / "policies").mkdir()
        for name, text in POLICIES.items():
            (root / "policies" / f"{name}.yaml").write_text(text)
        # users for b2, d, b2 no budget and a+sdk, and for (c)
        users = 4 * WARMUP + 3 * args.idle + 4 * args.alerts + args.waiting
        seed = write_seed(root / "seed.json", users)
        ca = ensure_certificates(root / "tenant").ca_path
        port = free_port(0)
        url = f"https://127.0.0.1:{port}"
        env = process_env(args.pycache)
        argv = [str(BENCH / "tenant_probe.py"), str(root / "tenant"), str(seed), str(port)]
        with ChildProcess(argv, env, root / "tenant.log") as tenant:
            await wait_for_tenant(url, ca, tenant)
            async with temporal_dev_server(root, free_port(0), free_port(0)) as address:
                client = await Client.connect(address, data_converter=pydantic_data_converter)
                bench = Bench(args, client, url, ca)
                bench.cpu.watch_child("temporal", "temporal")
                bench.cpu.watch("tenant", tenant.pid)
                settings = tenant_settings_for(load_seed(seed), url, ca)
                worker_env = riposte_env(env, root, address, settings, args.riposte_queue)
                worker_env["RIPOSTE_GUARDRAILS"] = json.dumps(UNTRIPPED)  # checked, never hit
                unbudgeted_env = {
                    **riposte_env(env, root, address, settings, args.riposte_queue + "-no-budget"),
                    "RIPOSTE_GUARDRAILS": json.dumps(NO_BUDGETS),
                }
                bare_env = {
                    **env,
                    "TEMPORAL_ADDRESS": address,
                    "BENCH_TASK_QUEUE": args.bare_queue,
                    "RIPOSTE_TENANT": worker_env["RIPOSTE_TENANT"],  # for (a+sdk)
                }
                with (
                    ChildProcess([str(ROOT / "worker.py")], worker_env, root / "worker.log") as w,
                    ChildProcess([str(BENCH / "bare.py")], bare_env, root / "bare.log") as bare,
                    ChildProcess(
                        [str(ROOT / "worker.py")], unbudgeted_env, root / "worker-no-budget.log"
                    ) as unbudgeted,
                ):
                    bench.cpu.watch("riposte_worker_no_budget", unbudgeted.pid)
                    result = await phases(bench, w, bare, root)
    result["run"] = {
        "seconds": round(time.monotonic() - started),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "pycache": args.pycache,
    }
    result["ratio_b2_to_a"] = result.pop("ratio_b2_to_a")
    return result


async def phases(
    bench: Bench, worker: ChildProcess, bare: ChildProcess, root: Path
) -> dict[str, Any]:
    rss_started = await worker.settled_rss_mb()
    db = root / "riposte" / "audit.db"
    async with AuditWatch(db, AuditKind.EXECUTED) as bench.executed:
        return await measured(bench, worker, bare, db, rss_started)


async def measured(
    bench: Bench, worker: ChildProcess, bare: ChildProcess, db: Path, rss_started: float
) -> dict[str, Any]:
    args = bench.args
    bench.cpu.watch("riposte_worker", worker.pid)
    bench.cpu.watch("bare_worker", bare.pid)
    shape = mirror((await bench.riposte("warmup b2", MATCH, WARMUP)).per_response)
    await bench.riposte("warmup b2 no budget", MATCH, WARMUP, service=bench.unbudgeted)
    await bench.riposte("warmup b1", NOTHING, WARMUP)
    await bench.bare("warmup a", shape, WARMUP)
    sdk = dataclasses.replace(shape, sdk=True)
    await bench.bare("warmup a+sdk", sdk, WARMUP)
    await bench.bare("warmup a1", ONE_ACTIVITY, WARMUP)
    await bench.bare("a idle", shape, args.idle)
    await bench.bare("a1 idle", ONE_ACTIVITY, args.idle)
    await bench.bare("a+sdk idle", sdk, args.idle)
    await bench.riposte("b2 idle", MATCH, args.idle)
    await bench.riposte("b1 idle", NOTHING, args.idle)
    await bench.riposte("warmup d", MATCH, WARMUP, join=True)
    await bench.riposte("d idle", MATCH, args.idle, join=True)
    each, c = max(1, args.alerts // args.rounds), args.concurrency
    for turn in range(1, args.rounds + 1):  # interleaved: outside load weighs on each alike
        chunks = [
            await bench.bare("a1", ONE_ACTIVITY, each, c),
            await bench.bare("a", shape, each, c),
            await bench.bare("a+sdk", sdk, each, c),
            await bench.riposte("b1", NOTHING, each, c),
            await bench.riposte("b2", MATCH, each, c),
            await bench.riposte("d", MATCH, each, c, join=True),
            await bench.riposte("b2 no budget", MATCH, each, c, bench.unbudgeted),
        ]
        if args.breakdown:
            chunks += [await bench.bare(k, v, each, c) for k, v in variants(shape).items()]
        rates = ", ".join(f"{chunk.name} {chunk.rate:.1f}/s" for chunk in chunks)
        print(f"round {turn}/{args.rounds}: {rates}", flush=True)
    p = bench.merged
    for name in bench.order:
        if not name.startswith("warmup"):
            print(p[name].line(), flush=True)
    rss_before_waiting = worker.peak_rss_mb()
    waiting = await bench.hold_waiting(worker, args.waiting, db)
    a, a1, b1, b2 = p["a"], p["a1"], p["b1"], p["b2"]
    budget = budget_cost(b2, p["b2 no budget"], len(ACTIONS))
    budget["ledger_spend_ms_p50"] = spend_ms(db)
    print(
        f"budget check: {budget['alerts_per_s_with']} alerts/s with, "
        f"{budget['alerts_per_s_without']} without; "
        f"{budget['wall_ms_per_action']} ms wall and "
        f"{budget['worker_cpu_ms_per_action']} ms worker CPU per action; one ledger spend "
        f"(SQLite, in process) {budget['ledger_spend_ms_p50']} ms p50",
        flush=True,
    )
    ratio = b2.rate / a.rate
    ratio_sdk = b2.rate / p["a+sdk"].rate
    print(f"b2 {b2.rate:.1f}/s against a {a.rate:.1f}/s: {ratio:.2f}", flush=True)
    print(f"b2 {b2.rate:.1f}/s against a+sdk {p['a+sdk'].rate:.1f}/s: {ratio_sdk:.2f}", flush=True)
    a_first_p50 = percentile(p["a idle"].first_action_ms(), 0.5)
    first_p50 = percentile(p["b2 idle"].first_action_ms(), 0.5)
    no_match = percentile(p["b1 idle"].done_ms(), 0.5), percentile(p["a1 idle"].done_ms(), 0.5)
    same = all(a.per_response[k] == b2.per_response[k] for k in ("activities", "local_activities"))
    return {
        "phases": {name: p[name].summary() for name in bench.order if "warmup" not in name},
        "bare_a_has_b2_activities": same,
        "cpu_ratio_a_to_b2": round(cpu_total(a) / cpu_total(b2), 3),
        "idle_p50_first_action_ms": {
            "b2": round(first_p50),
            "a": round(a_first_p50),
            "a+sdk": round(percentile(p["a+sdk idle"].first_action_ms(), 0.5)),
        },
        "incident_join": incident_join(p["b2"], p["d"], p["b2 idle"], p["d idle"], p["a1 idle"]),
        "waiting": waiting,
        "budget_check": budget,
        "worker_rss_mb": {
            "bare_peak": bare.peak_rss_mb(),
            "riposte_settled_after_start": rss_started,
            "riposte_peak_before_waiting": rss_before_waiting,
            "riposte_peak_with_waiting": waiting["worker_peak_rss_mb"],
        },
        "aims_met": {
            "b2_at_least_0.8_of_bare": ratio >= 0.8,
            "no_match_within_one_activity_round_trip": b1.rate >= a1.rate
            and no_match[0] <= no_match[1],
            "idle_p50_alert_to_first_action_under_250ms": first_p50 < 250,
            "under_500mb_with_1000_waiting": (
                waiting["worker_peak_rss_mb"] < 500 if waiting["responses"] >= 1000 else None
            ),
        },
        "aims_issue_14": aims_14(
            ratio, ratio_sdk, b1.rate >= a1.rate, first_p50 / a_first_p50, waiting
        ),
        "ratio_b2_to_a_sdk": round(ratio_sdk, 3),
        "ratio_b2_to_a": round(ratio, 3),
    }


def aims_14(
    ratio: float, ratio_sdk: float, b1_fast: bool, first_vs_a: float, waiting: dict[str, Any]
) -> dict[str, bool | None]:
    """Issue 14's aims, each printed as met or not met (None: not judged in this run)."""
    aims: dict[str, bool | None] = {
        "b2_at_least_0.8_of_a": ratio >= 0.8,
        "b2_at_least_0.9_of_a+sdk": ratio_sdk >= 0.9,
        "b1_at_least_a1": b1_fast,
        "idle_p50_first_action_within_1.1_of_a": first_vs_a <= 1.1,
        "worker_peak_rss_with_1000_waiting_under_400mb": (
            waiting["worker_peak_rss_mb"] <= 400 if waiting["responses"] >= 1000 else None
        ),
    }
    for aim, met in aims.items():
        verdict = "not judged" if met is None else "met" if met else "not met"
        print(f"aim {aim}: {verdict}", flush=True)
    return aims


def cpu_total(phase: Phase) -> float:
    """CPU per alert of the stack (server, workers, tenant), the bench's own client left out."""
    return sum(v for k, v in phase.cpu_ms_per_alert().items() if k != "bench")


def load_average() -> list[float]:
    """1, 5 and 15-minute load: the machine is shared, and other work skews every figure."""
    return [round(x, 2) for x in os.getloadavg()]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=150, help="alerts per phase (150)")
    parser.add_argument("--waiting", type=int, default=1000, help="responses held open (1000)")
    parser.add_argument("--idle", type=int, default=20, help="one-at-a-time alerts (20)")
    parser.add_argument("--concurrency", type=int, default=20, help="alerts in flight (20)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--breakdown", action="store_true", help="also price Riposte's costs")
    parser.add_argument(
        "--pycache",
        action="store_true",
        help="let workers cache compiled sources (PYTHONDONTWRITEBYTECODE dropped)",
    )
    parser.add_argument("--bare-queue", default="bench-bare", help=argparse.SUPPRESS)
    parser.add_argument("--riposte-queue", default="bench-riposte", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def until_sigterm(args: argparse.Namespace) -> dict[str, Any]:
    """`main`, cancelled by SIGTERM: unwinding stops the dev server and every child process."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await main(args)


if __name__ == "__main__":
    try:
        result = asyncio.run(until_sigterm(parse()))
    except asyncio.CancelledError:
        sys.exit(143)
    print(json.dumps(result), flush=True)
    failed = sum(p["failed"] for p in result["phases"].values())
    waiting = result["waiting"]
    sys.exit(1 if failed or waiting["actions_waiting"] < waiting["expected"] else 0)
