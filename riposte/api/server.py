"""Serving the app: `riposte serve` on its own, or inside `riposte dev`."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import structlog
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from riposte.api.app import create_app
from riposte.api.context import ApiContext
from riposte.api.tokens import TokenStore
from riposte.audit.store import open_configured
from riposte.errors import Unavailable
from riposte.service import ResponseService
from riposte.settings import Settings

log = structlog.get_logger("riposte.api")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to its caller."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def listening(app: FastAPI, host: str, port: int) -> AsyncIterator[str]:
    """Serve `app` on host:port (0: any free port) while the block runs; yield its base URL."""
    listener = bind(host, port)  # here, so a busy port is an error and not uvicorn's exit
    server = _Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    running = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if running.done():
                running.result()  # raises what stopped it
                raise Unavailable("the API server stopped while starting")
            await asyncio.sleep(0.02)
        bound_port = listener.getsockname()[1]
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        await running
        listener.close()


async def serve(
    settings: Settings, client: Client, host: str, port: int, stop: asyncio.Event
) -> None:
    """Serve the API and console on host:port until `stop` is set."""
    store = open_configured(settings)
    tokens = TokenStore.in_data_dir(settings.data_dir)
    app = create_app(
        settings, ResponseService(client, settings.task_queue, settings.incidents), store, tokens
    )
    try:
        async with listening(app, host, port) as url:
            log.info("api.listening", url=f"{url}/", tokens=len(tokens.records()))
            if not tokens.records():
                log.warning("api.no_tokens", hint="riposte token create --role admin --name NAME")
            await stop.wait()
    finally:
        context: ApiContext = app.state.riposte
        await context.denials.close()  # the windows still open
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
