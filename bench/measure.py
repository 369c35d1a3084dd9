"""What the throughput bench measures with: samples, phases, closed-loop load, CPU, histories.

A phase keeps a fixed number of alerts in flight (each slot submits one, waits for its result,
then submits the next), so a slow stack shows as fewer alerts per second, not as a queue. A
phase may be run in several rounds, interleaved with the others, and merged: on a shared
machine, load from elsewhere then weighs on every phase alike.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from riposte.budget.ledger import open_ledger
from riposte.budget.models import BudgetLimits, BudgetRequest


@dataclass
class Sample:
    """One alert (or bare workflow): wall-clock times from `time.time()`."""

    id: str
    submitted: float
    done: float
    ok: bool
    user: str = ""
    first_action: float | None = None


@dataclass
class Phase:
    name: str
    samples: list[Sample]
    seconds: float
    per_response: dict[str, int] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # by process

    @property
    def rate(self) -> float:
        return len(self.samples) / self.seconds

    def merged(self, other: Phase) -> Phase:
        cpu = {k: v + other.cpu_seconds.get(k, 0.0) for k, v in self.cpu_seconds.items()}
        return Phase(
            self.name,
            self.samples + other.samples,
            self.seconds + other.seconds,
            other.per_response,
            cpu,
        )

    def cpu_ms_per_alert(self) -> dict[str, float]:
        return {k: round(v * 1000 / len(self.samples), 1) for k, v in self.cpu_seconds.items()}

    def first_action_ms(self) -> list[float]:
        stamps = [(s.first_action, s.submitted) for s in self.samples]
        return [(first - sent) * 1000 for first, sent in stamps if first is not None]

    def done_ms(self) -> list[float]:
        return [(s.done - s.submitted) * 1000 for s in self.samples]

    def summary(self) -> dict[str, Any]:
        first, done = self.first_action_ms(), self.done_ms()
        result: dict[str, Any] = {
            "alerts": len(self.samples),
            "seconds": round(self.seconds, 2),
            "alerts_per_s": round(self.rate, 2),
            "failed": sum(not s.ok for s in self.samples),
            "p50_done_ms": round(percentile(done, 0.5)),
            "p99_done_ms": round(percentile(done, 0.99)),
        }
        if first:
            result["p50_first_action_ms"] = round(percentile(first, 0.5))
            result["p99_first_action_ms"] = round(percentile(first, 0.99))
        result["per_response"] = self.per_response
        result["cpu_ms_per_alert"] = self.cpu_ms_per_alert()
        return result

    def line(self) -> str:
        s = self.summary()
        first = f"{'':>39}"
        if "p50_first_action_ms" in s:
            p50, p99 = s["p50_first_action_ms"], s["p99_first_action_ms"]
            first = f"first action p50 {p50:>5} ms p99 {p99:>5} ms"
        shape = " ".join(f"{k}={v}" for k, v in self.per_response.items())
        cpu = " ".join(f"{k}={v:.1f}" for k, v in s["cpu_ms_per_alert"].items())
        return (
            f"{self.name:<20} {s['alerts']:>4} in {s['seconds']:>6.2f}s {s['alerts_per_s']:>6.1f}/s"
            f"  {first}  done p50 {s['p50_done_ms']:>5} ms  failed {s['failed']}"
            f"\n{'':<20} per alert: {shape}\n{'':<20} CPU ms per alert: {cpu}"
        )


class CpuMeter:
    """CPU time (user + system) spent by named processes, to say where the time goes."""

    def __init__(self) -> None:
        self.processes: dict[str, psutil.Process] = {"bench": psutil.Process()}

    def watch(self, name: str, pid: int) -> None:
        self.processes[name] = psutil.Process(pid)

    def watch_child(self, name: str, command: str) -> None:
        """Watch the first child process of this one whose name is `command`."""
        for child in psutil.Process().children(recursive=True):
            if child.name() == command:
                self.processes[name] = child
                return
        raise RuntimeError(f"no child process named {command}")

    def reading(self) -> dict[str, float]:
        readings = {}
        for name, process in self.processes.items():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            readings[name] = times.user + times.system
        return readings

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: after[name] - before[name] for name in after if name in before}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


async def closed_loop(
    numbers: Iterable[int], concurrency: int, one: Callable[[int], Awaitable[Sample]]
) -> tuple[list[Sample], float]:
    """Run `one(n)` for every n, `concurrency` at a time; the samples and the wall time."""
    pending = iter(numbers)
    samples: list[Sample] = []

    async def slot() -> None:
        for n in pending:
            samples.append(await one(n))

    began = time.perf_counter()
    await asyncio.gather(*(slot() for _ in range(concurrency)))
    return samples, time.perf_counter() - began


async def history_shape(client: Client, workflow_id: str) -> dict[str, int]:
    """What one finished workflow cost, counted from its history."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    kinds = Counter(event.event_type for event in history.events)
    markers = Counter(
        event.marker_recorded_event_attributes.marker_name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    )
    return {
        "activities": kinds[EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED],
        "local_activities": markers["core_local_activity"],
        "patch_markers": markers["core_patch"],
        "search_attribute_upserts": kinds[EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES],
        "workflow_tasks": kinds[EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED],
        "history_events": len(history.events),
    }


def budget_cost(with_budget: Phase, without: Phase, actions: int) -> dict[str, float]:
    """What the budget check adds per autonomous action, from two (b2) phases: one on a worker
    with budgets on (too high to trip), one on a worker with them off. Each phase's worker CPU
    is its own process's."""
    per_alert_ms = (1 / with_budget.rate - 1 / without.rate) * 1000
    cpu_with = with_budget.cpu_ms_per_alert().get("riposte_worker", 0.0)
    cpu_without = without.cpu_ms_per_alert().get("riposte_worker_no_budget", 0.0)
    return {
        "alerts_per_s_with": round(with_budget.rate, 1),
        "alerts_per_s_without": round(without.rate, 1),
        "wall_ms_per_action": round(per_alert_ms / actions, 2),
        "worker_cpu_ms_per_action": round((cpu_with - cpu_without) / actions, 2),
    }


def spend_ms(db: Path, count: int = 300) -> float:
    """The p50 of one budget ledger spend on the bench's audit database, timed in process."""
    ledger = open_ledger(f"sqlite:///{db}")
    limits = BudgetLimits(per_action=10**9, total=10**9)
    took = []
    try:
        for n in range(count):
            request = BudgetRequest(response_id="bench", action_id=f"bench:{n}", action="bench")
            began = time.perf_counter()
            ledger.spend(request, limits, datetime.now(UTC))
            took.append((time.perf_counter() - began) * 1000)
    finally:
        ledger.close()
    return round(percentile(took, 0.5), 3)
