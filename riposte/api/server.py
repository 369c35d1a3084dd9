"""Serving the app: `riposte serve` on its own, or inside `riposte dev`."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import structlog
import uvicorn
from temporalio.client import Client

from riposte.api.app import create_app
from riposte.api.tokens import TokenStore
from riposte.audit.store import open_store
from riposte.errors import Unavailable
from riposte.service import ResponseService
from riposte.settings import Settings

log = structlog.get_logger("riposte.api")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to its caller, who sets `stop`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    settings: Settings, client: Client, host: str, port: int, stop: asyncio.Event
) -> None:
    """Serve the API and console on host:port until `stop` is set."""
    listener = bind(host, port)  # here, so a busy port is an error and not uvicorn's exit
    store = open_store(settings.audit_store_url)
    tokens = TokenStore.in_data_dir(settings.data_dir)
    app = create_app(settings, ResponseService(client, settings.task_queue), store, tokens)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = _Server(config)
    running = asyncio.create_task(server.serve(sockets=[listener]))
    stopping = asyncio.create_task(stop.wait())
    log.info("api.listening", url=f"http://{host}:{port}/", tokens=len(tokens.records()))
    if not tokens.records():
        log.warning("api.no_tokens", hint="riposte token create --role admin --name NAME")
    try:
        await asyncio.wait([running, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        server.should_exit = True
        await running
        listener.close()
        store.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port. Raises Unavailable when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as err:
        listener.close()
        raise Unavailable(f"cannot listen on {host}:{port}: {err.strerror}") from err
    listener.listen(2048)
    listener.setblocking(False)
    return listener
