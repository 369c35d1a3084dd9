"""Alert intake under load: N alerts posted C at a time to a running API.

    riposte dev &                                   # or any running `riposte serve`
    python bench/intake.py -n 2000 -c 64            # finds the API through .riposte/stack.json

It prints accepted alerts per second and the p50/p99 latency of the 202, then checks that every
accepted alert has its response (GET /v1/responses/{id}), and exits 1 if any is missing or any
post was refused. Tokens are minted in the data dir unless --token is given (an admin token,
which may both send alerts and read responses).

The alerts are native, each with its own id, and named so that no shipped policy matches them:
the bench measures intake and workflow start, not the tenant.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from riposte.api.tokens import Role, TokenStore


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, accepted posts only
    accepted: list[str] = field(default_factory=list)  # response ids
    duplicates: int = 0
    refused: dict[int, int] = field(default_factory=dict)  # status -> count


def alert(run: str, n: int) -> dict[str, object]:
    return {
        "id": f"bench-{run}-{n}",
        "source": "bench",
        "name": "Bench / Intake / Load",
        "severity": "low",
        "score": 0.1,
        "time": datetime.now(UTC).isoformat(),
        "entities": {"ip": f"192.0.2.{n % 250 + 1}"},
    }


async def post_all(http: httpx.AsyncClient, count: int, concurrency: int) -> tuple[Tally, float]:
    run = uuid.uuid4().hex[:8]
    tally = Tally()
    gate = asyncio.Semaphore(concurrency)

    async def post(n: int) -> None:
        async with gate:
            started = time.perf_counter()
            answer = await http.post("/v1/alerts", json=alert(run, n))
            took = time.perf_counter() - started
        if answer.status_code != 202:
            tally.refused[answer.status_code] = tally.refused.get(answer.status_code, 0) + 1
            return
        tally.latencies.append(took)
        body = answer.json()
        tally.accepted.append(body["response_id"])
        tally.duplicates += bool(body["duplicate"])

    began = time.perf_counter()
    await asyncio.gather(*(post(n) for n in range(count)))
    return tally, time.perf_counter() - began


async def missing_responses(
    http: httpx.AsyncClient, ids: list[str], concurrency: int, wait_seconds: float
) -> list[str]:
    """The accepted alerts whose response cannot be found, after waiting up to wait_seconds."""
    gate = asyncio.Semaphore(concurrency)
    deadline = time.monotonic() + wait_seconds

    async def found(response_id: str) -> bool:
        while True:
            async with gate:
                answer = await http.get(f"/v1/responses/{response_id}")
            if answer.status_code == 200:
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.5)

    results = await asyncio.gather(*(found(i) for i in ids))
    return [i for i, ok in zip(ids, results, strict=True) if not ok]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


def api_url(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url)
    try:
        return str(json.loads((args.data_dir / "stack.json").read_text())["api"])
    except (OSError, ValueError, KeyError):
        sys.exit(f"no running stack in {args.data_dir}: start `riposte dev` or pass --url")


async def until_up(http: httpx.AsyncClient, seconds: float = 30.0) -> None:
    """Wait for /healthz: a stack writes stack.json a moment before its API listens."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


async def main(args: argparse.Namespace) -> int:
    token = args.token or TokenStore.in_data_dir(args.data_dir).create(
        Role.ADMIN, f"bench-{uuid.uuid4().hex[:8]}", expires_in=timedelta(hours=1)
    )
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=api_url(args), headers=headers, limits=limits, timeout=60
    ) as http:
        await until_up(http)
        tally, seconds = await post_all(http, args.count, args.concurrency)
        lost = await missing_responses(http, tally.accepted, args.concurrency, args.wait)
    accepted = len(tally.accepted)
    print(f"posted     {args.count} alerts, {args.concurrency} at a time, in {seconds:.2f}s")
    print(f"accepted   {accepted} ({tally.duplicates} duplicates), {accepted / seconds:.1f}/s")
    print(f"refused    {sum(tally.refused.values())} {tally.refused or ''}".rstrip())
    p50, p99 = percentile(tally.latencies, 0.50), percentile(tally.latencies, 0.99)
    print(f"202 p50    {p50 * 1000:.1f} ms")
    print(f"202 p99    {p99 * 1000:.1f} ms")
    print(f"responses  {accepted - len(lost)} of {accepted} accepted alerts have one")
    for response_id in lost[:10]:
        print(f"  missing: {response_id}")
    return 1 if lost or tally.refused else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=1000, help="alerts to post (1000)")
    parser.add_argument("-c", "--concurrency", type=int, default=50, help="at a time (50)")
    parser.add_argument("--url", help="the API's base URL (default: from stack.json)")
    parser.add_argument("--token", help="an admin token (default: mint one in the data dir)")
    parser.add_argument("--data-dir", type=Path, default=Path(".riposte"))
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to find responses")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
