"""Backtest speed: synthetic alerts through the shipped policies, as `policy backtest` runs them.

    .venv/bin/python bench/backtest.py                 # 100k and 1M alerts
    .venv/bin/python bench/backtest.py --sizes 100000  # one size

For each size the script writes that many synthetic native alerts as NDJSON (a mix of both
incidents' model names, unrelated models, and a few hundred users and addresses over a year),
then, in a fresh child process so that its peak memory is its own, runs the backtest from the
file through the CLI's own path (`riposte.backtest.service.backtest`: streamed reading, adapter
parsing, incidents regrown for the incident-scope policies, evaluation, tallying) and,
separately, the evaluation alone over alerts already parsed (up to 100k of them). It prints:

- alerts/s: end to end from the file, as `riposte policy backtest --alerts FILE` does;
- evaluations/s: alert-by-policy evaluations per second of the compiled policies, both through
  `evaluate()` (the live engine's plan, models included) and through `decide` (the backtest's);
- peak memory: the child's maximum resident set size.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NAMES = (
    "SaaS / Compromise / Unusual Login and New Email Rule",
    "SaaS::Unusual Activity::Unusual External Source for SaaS Credential Use",
    "SaaS / Compliance / New Email Rule",
    "SaaS / Access / Suspicious Login Attempt",
    "Unusual Login Location + Sender Surge",
    "Device / Suspicious SMB Scanning Activity",
    "Device::Network Scan",
    "Device / SMB Session Brute Force (Non-Admin)",
    "Device / Attack and Recon Tools",
    "Anomalous Connection / Data Sent to Rare Domain",
    "Compliance / Remote Desktop Protocol",
    "Antigena / Network / External Threat / Antigena Suspicious Activity Block",
)
SEVERITIES = ("informational", "low", "medium", "high", "critical")
EVALUATE_SAMPLE = 100_000


def synthetic(count: int, seed: int = 11) -> Iterator[str]:
    """`count` native alerts as NDJSON lines, reproducible from `seed`."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    users = [f"user{n}@contoso.com" for n in range(400)] + ["breakglass@contoso.com"]
    ips = [
        f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(600)
    ]
    for n in range(count):
        name = rng.choice(NAMES)
        device = name.startswith(("Device", "Anomalous", "Compliance", "Antigena"))
        entities: dict[str, object] = {"ip": rng.choice(ips)}
        if not device:
            entities["user"] = rng.choice(users)
            entities["inbox_rules"] = ["."] if rng.random() < 0.5 else []
        alert = {
            "id": f"syn-{n}",
            "source": "darktrace",
            "name": name,
            "severity": rng.choice(SEVERITIES),
            "score": round(rng.random(), 3),
            "time": (start + timedelta(seconds=n * 31_536_000 // count)).isoformat(),
            "entities": entities,
        }
        yield json.dumps(alert) + "\n"


def child(path: Path) -> None:
    """Measure one file in this process and print the figures as JSON."""
    from riposte.backtest.incidents import incident_policies
    from riposte.backtest.run import load_set
    from riposte.backtest.service import BacktestRequest, backtest
    from riposte.policy.engine import evaluate
    from riposte.policy.matchers import Facts
    from riposte.settings import Settings

    settings = Settings(policies_dir=ROOT / "policies")
    started = time.perf_counter()
    report = backtest(BacktestRequest(files=(path,)), settings, on_bad=print)
    elapsed = time.perf_counter() - started
    policies = load_set(settings.policies_dir, settings)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    from riposte.adapters import parse_alert

    with path.open() as stream:
        sample = [
            parse_alert(json.loads(line)) for line in itertools.islice(stream, EVALUATE_SAMPLE)
        ]
    count = len(policies.policies)
    started = time.perf_counter()
    for alert in sample:
        policies.decide(Facts(alert))
    decide_s = time.perf_counter() - started
    snapshot = policies.snapshot
    started = time.perf_counter()
    for alert in sample:
        evaluate(alert, snapshot, alert.key)
    evaluate_s = time.perf_counter() - started
    figures = {
        "alerts": report.alerts,
        "seconds": elapsed,
        "alerts_per_s": report.alerts / elapsed,
        "decide_evals_per_s": len(sample) * count / decide_s,
        "evaluate_evals_per_s": len(sample) * count / evaluate_s,
        "peak_mb": peak_kb / 1024,
        "policies": count,
        "incident_policies": len(incident_policies(snapshot)),
        "matched": {name: p.matched for name, p in report.policies.items()},
    }
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "alerts.ndjson"
            with path.open("w") as out:
                out.writelines(synthetic(size))
            mb = path.stat().st_size / 1e6
            result = subprocess.run(
                [sys.executable, __file__, "--child", str(path)],
                check=True,
                capture_output=True,
                text=True,
            )
            f = json.loads(result.stdout.splitlines()[-1])
        print(
            f"{size:>9,} alerts ({mb:,.0f} MB NDJSON, {f['policies']} policies"
            f" + {f['incident_policies']} incident-scope):"
            f" {f['alerts_per_s']:>8,.0f} alerts/s end to end ({f['seconds']:.1f}s);"
            f" evaluations/s {f['decide_evals_per_s']:,.0f} (decide),"
            f" {f['evaluate_evals_per_s']:,.0f} (evaluate);"
            f" peak memory {f['peak_mb']:,.0f} MB"
        )
        print(f"          matched: {f['matched']}")


if __name__ == "__main__":
    main()
