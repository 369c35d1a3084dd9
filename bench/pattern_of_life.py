"""Pattern-of-life learning speed and memory: a week of one device's VNet flow logs.

    .venv/bin/python bench/pattern_of_life.py                  # 1, 10 and 100 flows per minute
    .venv/bin/python bench/pattern_of_life.py --rates 100      # one rate

For each rate, a fresh child process generates the week hour by hour as Azure writes it (one
PT1H.json blob per hour, flow log version 4, a B and an E tuple per flow, records of ten
minutes) and feeds each blob to `PatternLearner` as the activity does, one blob in memory at a
time. The device's traffic: 80% to 12 usual destinations (DNS, a file server, an intranet /24,
SaaS), 20% to a long tail of rare ones. It prints, per rate: flows and blob bytes in the week,
the learning time (parsing and learning only, generation excluded), tuples/s, the learned
allow-list's size, and peak memory: the child's maximum resident set size (and what it was
before learning), and with --heap the Python heap's peak while learning (tracemalloc, in a
second, untimed pass).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEVICE = "10.8.0.25"
HOURS = 7 * 24
USUAL = [
    ("10.0.0.4", 53, 17),
    ("10.0.0.5", 53, 17),
    ("10.0.2.10", 443, 6),
    *[(f"10.0.1.{10 + i}", 443, 6) for i in range(6)],
    ("20.190.151.7", 443, 6),
    ("52.97.146.2", 443, 6),
    ("13.107.42.14", 443, 6),
]


def hour_blob(hour: int, rate: int, rng: random.Random, start_ms: int) -> bytes:
    """One hour of the device's flows at `rate` per minute, as a PT1H.json blob."""
    records = []
    for tenth in range(6):
        tuples = []
        for _ in range(rate * 10):
            moment = start_ms + hour * 3_600_000 + tenth * 600_000 + rng.randint(0, 599_999)
            if rng.random() < 0.8:
                dst, port, proto = rng.choice(USUAL)
            else:
                a, b, c = rng.randint(11, 223), rng.randint(0, 255), rng.randint(0, 255)
                dst = f"{a}.{b}.{c}.{rng.randint(1, 254)}"
                port, proto = rng.choice((443, 80, 8443, 123)), 6
            base = f"{DEVICE},{dst},{rng.randint(49152, 65535)},{port},{proto},O"
            tuples.append(f"{moment},{base},B,NX,0,0,0,0")
            tuples.append(f"{moment + 400},{base},E,NX,12,1440,11,9900")
        records.append(
            {
                "time": "2026-01-01T00:00:00.0000000Z",
                "flowLogVersion": 4,
                "macAddress": "000D3A2B0019",
                "category": "FlowLogFlowEvent",
                "flowLogResourceID": "/SUBSCRIPTIONS/X/FLOWLOGS/BENCH",
                "targetResourceID": "/subscriptions/x/virtualNetworks/bench",
                "flowRecords": {
                    "flows": [
                        {
                            "aclID": "a",
                            "flowGroups": [{"rule": "AllowVpnToServers", "flowTuples": tuples}],
                        }
                    ]
                },
            }
        )
    return json.dumps({"records": records}, separators=(",", ":")).encode()


def blobs(rate: int, start_ms: int) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(rate)
    for hour in range(HOURS):
        yield f"h={hour}/PT1H.json", hour_blob(hour, rate, rng, start_ms)


def measure(rate: int, heap: bool) -> dict[str, float]:
    from riposte.pattern_of_life import PatternLearner

    start_ms = 1_767_225_600_000  # 2026-01-01T00:00Z
    learner = PatternLearner(DEVICE, start_ms, start_ms + HOURS * 3_600_000)
    learning = 0.0
    size = 0
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    for name, content in blobs(rate, start_ms):
        size += len(content)
        began = time.perf_counter()
        learner.add_blob(name, content)
        learning += time.perf_counter() - began
        del content
    began = time.perf_counter()
    allow = learner.allow_list(min_days=2, cap=10_000)
    learning += time.perf_counter() - began
    peak = learner_heap(rate, start_ms) if heap else 0
    return {
        "rate": rate,
        "flows": rate * 60 * HOURS,
        "bytes": size,
        "seconds": learning,
        "tuples_per_s": learner.tuples / learning,
        "allow": len(allow),
        "heap_peak": peak,
        "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "baseline_rss": baseline,
    }


def learner_heap(rate: int, start_ms: int) -> int:
    """The Python heap's peak while learning the week again, traced (tracemalloc slows it, so
    the timed pass runs untraced)."""
    from riposte.pattern_of_life import PatternLearner

    learner = PatternLearner(DEVICE, start_ms, start_ms + HOURS * 3_600_000)
    tracemalloc.start()
    for name, content in blobs(rate, start_ms):
        learner.add_blob(name, content)
        del content
    learner.allow_list(min_days=2, cap=10_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--heap", action="store_true", help="also trace the Python heap's peak (a second pass)"
    )
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.heap)))
        return
    print(
        "flows/min  flows/week  blob MB  learn s  tuples/s  allow  heap peak MB"
        "  max RSS MB (at start)"
    )
    for rate in args.rates:
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(rate), *(["--heap"] if args.heap else [])],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout)
        print(
            f"{r['rate']:>9}  {r['flows']:>10}  {r['bytes'] / 1e6:>7.1f}  {r['seconds']:>7.2f}"
            f"  {r['tuples_per_s']:>8.0f}  {r['allow']:>5}  {r['heap_peak'] / 1e6:>12.1f}"
            f"  {r['max_rss'] / 1e6:>10.1f} ({r['baseline_rss'] / 1e6:.1f})"
        )


if __name__ == "__main__":
    main()
