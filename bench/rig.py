"""The throughput bench's rig: child processes, their environment, and the emulated tenant.

Every part runs as its own process so that each one's CPU and memory can be read: the tenant
emulator (bench/tenant_probe.py), the bare worker (bench/bare.py) and the Riposte worker
(`python worker.py`, configured by environment variables alone, as in production).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from types import TracebackType

import httpx
import psutil

from riposte.settings import TenantSettings

ROOT = Path(__file__).resolve().parent.parent


class ChildProcess:
    """A Python script run as a child process with its own log; stopped on exit."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, *argv], env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        self.pid = self.process.pid
        self.log = log
        self._ps = psutil.Process(self.pid)

    def check(self) -> None:
        code = self.process.poll()
        if code is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.log.name}: process exited ({code})\n{tail}")

    def rss_mb(self) -> float:
        self.check()
        rss: int = self._ps.memory_info().rss
        return round(rss / 2**20, 1)

    def peak_rss_mb(self) -> float:
        """The kernel's high-water mark of resident memory (VmHWM) over the process's life."""
        self.check()
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        raise RuntimeError("no VmHWM in /proc status")

    async def settled_rss_mb(self, within: float = 20.0) -> float:
        """Resident memory once start-up is over: unchanged by 1% over one second."""
        last = self.rss_mb()
        for _ in range(int(within)):
            await asyncio.sleep(1)
            now = self.rss_mb()
            if abs(now - last) <= last / 100:
                return now
            last = now
        return last

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def process_env(pycache: bool) -> dict[str, str]:
    """The environment of every child process. With `pycache`, PYTHONDONTWRITEBYTECODE is
    dropped, so Python caches compiled sources in (git-ignored) __pycache__ folders. That
    matters to workflows: the sandbox imports the workflow module anew for each workflow, and
    without a .pyc it compiles its source each time."""
    env = dict(os.environ)
    if pycache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def riposte_env(
    base: dict[str, str], root: Path, address: str, tenant: TenantSettings, queue: str
) -> dict[str, str]:
    """`python worker.py` configured by environment alone, as tests/test_worker_crash.py does."""
    tenant_json = tenant.model_dump(mode="json")
    secret = tenant.client_secret
    tenant_json["client_secret"] = secret.get_secret_value() if secret else None
    return {
        **base,
        "TEMPORAL_ADDRESS": address,
        "RIPOSTE_DATA_DIR": str(root / "riposte"),
        "RIPOSTE_POLICIES_DIR": str(root / "policies"),
        "RIPOSTE_TASK_QUEUE": queue,
        "RIPOSTE_TENANT": json.dumps(tenant_json),
        "RIPOSTE_LOG_FORMAT": "json",
    }


def user(n: int) -> str:
    """The n-th seeded user; negative numbers name users the tenant does not have."""
    return f"bench-{n:05d}@contoso.com" if n >= 0 else f"nobody{n}@contoso.com"


def write_seed(path: Path, users: int) -> Path:
    """A tenant of `users` users, one per alert that acts, so each write names its alert."""
    seed = {
        "tenant": {"id": str(uuid.uuid4()), "domains": ["contoso.com"]},
        "clients": [{"client_id": "riposte", "client_secret": "bench-secret"}],
        "users": [{"userPrincipalName": user(n), "displayName": f"B{n}"} for n in range(users)],
    }
    path.write_text(json.dumps(seed))  # JSON is YAML
    return path


async def wait_for_tenant(url: str, ca: Path, process: ChildProcess) -> None:
    async with httpx.AsyncClient(verify=str(ca)) as http:
        for _ in range(300):
            process.check()
            try:
                if (await http.get(f"{url}/_bench/writes")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("the tenant emulator did not start")


async def first_writes(url: str, ca: Path) -> dict[str, float]:
    """The emulator's receipt time of the first Graph write for each user."""
    async with httpx.AsyncClient(verify=str(ca)) as http:
        writes = (await http.get(f"{url}/_bench/writes")).json()
    first: dict[str, float] = {}
    for stamp, _, path in writes:
        upn = path.split("/")[3].lower()  # /v1.0/users/{upn}[/...]
        first[upn] = min(first.get(upn, stamp), stamp)
    return first
