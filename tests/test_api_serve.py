"""`riposte serve` as an operator runs it: a process that answers over HTTP and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from temporalio.client import Client

from riposte.api.app import create_app
from riposte.api.tokens import Role, TokenStore
from riposte.audit.store import open_store
from riposte.service import ResponseService
from riposte.settings import Settings
from tests.eventually import eventually

RIPOSTE = Path(sys.executable).parent / "riposte"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_riposte_serve_answers_and_stops_on_sigterm(
    temporal_client: Client, tmp_path: Path
) -> None:
    """The served API is ready (Temporal reachable, audit writable), takes a minted token, and
    exits 0 soon after SIGTERM."""
    token = TokenStore.in_data_dir(tmp_path).create(Role.AUDITOR, "carol")
    port = free_port()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": temporal_client.service_client.config.target_host,
        "RIPOSTE_TASK_QUEUE": "riposte-serve-test",
    }
    command = [str(RIPOSTE), "serve", "--port", str(port), "--data-dir", str(tmp_path)]
    log = (tmp_path / "serve.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def readyz() -> httpx.Response:
                assert process.returncode is None, (tmp_path / "serve.log").read_text()
                return await http.get("/readyz")

            ready = await eventually(
                readyz,
                within=15,
                every=0.05,
                what="serve answering",
                retry_on=(httpx.TransportError,),
            )
            assert (ready.status_code, ready.json()["ready"]) == (200, True)
            audit = await http.get("/v1/audit", headers={"Authorization": f"Bearer {token}"})
            assert audit.status_code == 200
            assert audit.json()["events"] == []
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()
    assert code == 0
    assert token not in (tmp_path / "serve.log").read_text()


async def test_riposte_serve_refuses_a_port_in_use(temporal_client: Client, tmp_path: Path) -> None:
    """A busy port is a plain error naming it, with exit code 1."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "TEMPORAL_ADDRESS": temporal_client.service_client.config.target_host}
        command = [str(RIPOSTE), "serve", "--port", str(port), "--data-dir", str(tmp_path)]
        done = await asyncio.to_thread(
            subprocess.run, command, env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


async def test_readiness_fails_when_temporal_cannot_be_reached(tmp_path: Path) -> None:
    """/readyz answers 503 and says Temporal is unreachable when nothing listens at its
    address; /healthz still answers, since the process itself is fine."""
    nowhere = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    settings = Settings(data_dir=tmp_path)
    store = open_store(settings.audit_store_url)
    app = create_app(
        settings, ResponseService(nowhere, "q"), store, TokenStore.in_data_dir(tmp_path)
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://riposte.test"
        ) as http:
            ready = await http.get("/readyz")
            health = await http.get("/healthz")
    finally:
        store.close()
    assert ready.status_code == 503
    assert ready.json()["ready"] is False
    assert ready.json()["temporal"].startswith("unreachable")
    assert ready.json()["audit"] == "ok"
    assert health.status_code == 200
