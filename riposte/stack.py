"""The embedded stack behind `riposte dev`: Temporal dev server, tenant emulator, worker and API.

Everything lives in one data dir: the Temporal SQLite file, the audit store, the emulator's CA
and `stack.json`, which tells other commands where each part listens. Stopping and starting
again on the same data dir picks up the responses that were in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import json
import os
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import structlog
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from riposte.api.server import serve
from riposte.api.tokens import Role, TokenStore
from riposte.emulator_package import require_emulator
from riposte.service import stack_file
from riposte.settings import Settings
from riposte.temporal_server import (
    SQLITE_PRAGMAS,
    register_search_attributes,
    search_attribute_args,
    temporal_binary,
)
from worker import run_worker

log = structlog.get_logger("riposte.stack")


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """`preferred` if nothing listens there, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise OSError("no free port")


@dataclass(frozen=True)
class StackAddresses:
    temporal: str
    temporal_ui: str
    api: str
    console: str
    emulator: str

    def write(self, path: Path) -> None:
        data = {
            "temporal": self.temporal,
            "temporal_ui": self.temporal_ui,
            "api": self.api,
            "console": self.console,
            "emulator": self.emulator,
        }
        path.write_text(json.dumps(data, indent=2) + "\n")


@contextlib.asynccontextmanager
async def temporal_dev_server(data_dir: Path, port: int, ui_port: int) -> AsyncIterator[str]:
    """Run `temporal server start-dev` on a SQLite file in data_dir; yield its address."""
    for existing in glob.glob(str(data_dir / "temporal.db*")):  # made before files were 0600
        os.chmod(existing, 0o600)
    log_file = (data_dir / "temporal.log").open("ab")
    command = [
        str(temporal_binary()),
        "server",
        "start-dev",
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--log-level",
        "warn",
        *SQLITE_PRAGMAS,
        *search_attribute_args(),
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        umask=0o077,  # temporal.db and its WAL files: readable by their owner only
    )
    address = f"127.0.0.1:{port}"
    try:
        await wait_for_temporal(address, process)
        yield address
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
        log_file.close()


async def wait_for_temporal(address: str, process: asyncio.subprocess.Process) -> Client:
    for _ in range(300):
        if process.returncode is not None:
            raise RuntimeError(
                f"the Temporal dev server exited ({process.returncode}); see temporal.log"
            )
        try:
            return await Client.connect(address, data_converter=pydantic_data_converter)
        except RuntimeError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"the Temporal dev server did not answer on {address}")


async def run_dev_stack(settings: Settings, stop: asyncio.Event) -> None:
    """Run every part until `stop` is set, then stop them all, newest first."""
    require_emulator()
    from tenant_emulator.server import start_emulator

    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    temporal_port = free_port(7233)
    ui_port = free_port(8233)
    api_port = free_port(8000)
    with start_emulator(data_dir, port=free_port(8443)) as emulator:
        settings = settings.model_copy(
            update={"data_dir": data_dir, "tenant": emulator.tenant_settings()}
        )
        async with temporal_dev_server(data_dir, temporal_port, ui_port) as address:
            client = await Client.connect(address, data_converter=pydantic_data_converter)
            await register_search_attributes(client)
            os.environ.setdefault("TEMPORAL_ADDRESS", address)
            api = f"http://127.0.0.1:{api_port}"
            addresses = StackAddresses(
                temporal=address,
                temporal_ui=f"http://127.0.0.1:{ui_port}",
                api=api,
                console=f"{api}/",
                emulator=emulator.url,
            )
            worker = asyncio.create_task(run_worker(client, settings, stop=stop))
            token_file = dev_admin_token(data_dir)  # before the API starts, so it knows it
            server = asyncio.create_task(serve(settings, client, "127.0.0.1", api_port, stop))
            await wait_until_listening(api)
            addresses.write(stack_file(settings))
            announce(addresses, settings, token_file)
            try:
                await stop.wait()
            finally:
                stack_file(settings).unlink(missing_ok=True)
                await asyncio.gather(worker, server, return_exceptions=True)


async def wait_until_listening(url: str) -> None:
    """Return once the API answers /healthz, so stack.json never names a closed port."""
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError(f"the API did not come up on {url}")


def dev_admin_token(data_dir: Path) -> Path:
    """The file holding the dev stack's admin token for the console, minted on first start
    (mode 0600). Production mints tokens with `riposte token create`."""
    path = data_dir / "dev-admin.token"
    if not path.exists():
        store = TokenStore.in_data_dir(data_dir)
        taken = {r.name for r in store.records()}  # names are never reused: a lost file's
        name = next(n for n in _dev_names() if n not in taken)  # token stays in the record
        token = store.create(Role.ADMIN, name)
        path.touch(mode=0o600)
        path.write_text(token + "\n")
    return path


def _dev_names() -> Iterator[str]:
    yield "dev-admin"
    yield from (f"dev-admin-{n}" for n in itertools.count(2))


def announce(addresses: StackAddresses, settings: Settings, token: Path) -> None:
    print(
        "\n".join(
            [
                "Riposte dev stack is up (Ctrl-C stops it):",
                f"  Temporal        {addresses.temporal}",
                f"  Temporal Web UI {addresses.temporal_ui}",
                f"  API             {addresses.api}  (OpenAPI: {addresses.api}/openapi.json)",
                f"  Console         {addresses.console}",
                f"                  (sign in with the dev admin token in {token})",
                f"  Tenant emulator {addresses.emulator}",
                f"                  (its state: {addresses.emulator}/_emulator/state)",
                f"  Data dir        {settings.data_dir}",
                f"  Policies        {settings.policies_dir.resolve()}",
                "Try: riposte demo   |   riposte alert send FILE   |   riposte responses",
            ]
        ),
        flush=True,
    )
