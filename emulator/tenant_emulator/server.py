"""The tenant emulator's HTTPS server: the app, and running it in a thread or in the foreground.

    with start_emulator(tmp_dir) as emulator:      # in-process, on a free port
        settings = emulator.tenant_settings()      # what the real SDK clients need
        ...

`serve()` runs the same server in the foreground for `riposte emulator`.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from riposte.errors import Unavailable
from riposte.settings import NsgBinding, TenantSettings
from tenant_emulator import (
    arm,
    arm_watch,
    graph,
    graph_ca,
    graph_identity,
    graph_mail,
    login,
    seam,
    storage,
)
from tenant_emulator.faults import Fault
from tenant_emulator.seed import Seed, load_seed
from tenant_emulator.state import EmulatorState
from tenant_emulator.tls import ServerCertificate, ensure_certificates

START_TIMEOUT = 15.0


async def _no_route(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = "MethodNotAllowed" if status == 405 else "NotFound"
    message = f"The emulator has no route for {request.method} {request.url.path}."
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def build_app(state: EmulatorState) -> Starlette:
    """The ASGI app: login, Graph, ARM and the /_emulator seam over one shared state."""
    app = Starlette(
        routes=[
            *seam.ROUTES,
            *login.ROUTES,
            *graph.ROUTES,
            *graph_mail.ROUTES,
            *graph_identity.ROUTES,
            *graph_ca.ROUTES,
            *arm.ROUTES,
            *arm_watch.ROUTES,
            *storage.ROUTES,
        ],
        exception_handlers={404: _no_route, 405: _no_route},
    )
    app.state.emulator = state
    return app


def tenant_settings_for(seed: Seed, url: str, ca_path: Path) -> TenantSettings:
    """Settings that point the real SDK clients at an emulator serving `seed` at `url`."""
    client = seed.clients[0] if seed.clients else None
    return TenantSettings(
        tenant_id=seed.tenant.id,
        client_id=client.client_id if client else "riposte",
        client_secret=SecretStr(client.client_secret) if client else None,
        authority_host=url,
        graph_url=f"{url}/v1.0",
        arm_endpoint=url,
        blob_url=f"{url}/{{account}}",
        ca_bundle=ca_path,
        subscription_id=seed.tenant.subscription_id,
        domains=seed.tenant.domains,
        nsgs=tuple(
            NsgBinding(name=n.name, resource_group=n.resource_group, cidr=n.protects)
            for n in seed.nsgs
        ),
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise Unavailable(f"the emulator cannot listen on {host}:{port}: {err}") from err
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)  # noqa: S104
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"https://{shown}:{port}"


class _Server(uvicorn.Server):
    """uvicorn's server, except that a SIGINT or SIGTERM is a clean stop (exit 0) rather than
    being raised again once the server has shut down."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def _server(state: EmulatorState, cert: ServerCertificate) -> uvicorn.Server:
    config = uvicorn.Config(
        build_app(state),
        ssl_certfile=str(cert.cert_path),
        ssl_keyfile=str(cert.key_path),
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="h11",
        loop="asyncio",
    )
    return _Server(config)


@dataclass
class RunningEmulator:
    """An emulator serving in a background thread. Stop it, or use it as a context manager."""

    url: str
    ca_path: Path
    state: EmulatorState
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _socket: socket.socket = field(repr=False)

    def tenant_settings(self) -> TenantSettings:
        return tenant_settings_for(self.state.start_seed, self.url, self.ca_path)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_emulator(
    data_dir: Path,
    *,
    seed: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Iterable[Fault] = (),
    lro_delay_ms: int = 20,
) -> RunningEmulator:
    """Start the emulator in a background thread; returns once it accepts connections."""
    state = EmulatorState(load_seed(seed), tuple(faults), lro_delay_ms=lro_delay_ms)
    cert = ensure_certificates(data_dir)
    sock = _bind(host, port)
    server = _server(state, cert)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="riposte-emulator", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        server.should_exit = True
        sock.close()
        raise Unavailable("the tenant emulator did not start")
    return RunningEmulator(_url(host, sock), cert.ca_path, state, server, thread, sock)


def serve(
    data_dir: Path,
    *,
    seed: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Iterable[Fault] = (),
) -> None:
    """Run the emulator in the foreground until interrupted (SIGINT / SIGTERM)."""
    state = EmulatorState(load_seed(seed), tuple(faults))
    cert = ensure_certificates(data_dir)
    sock = _bind(host, port)
    info = RunningEmulatorInfo(_url(host, sock), cert.ca_path, state.start_seed)
    server = _server(state, cert)
    try:
        _announce(info)
        server.run(sockets=[sock])
    finally:
        sock.close()


@dataclass(frozen=True)
class RunningEmulatorInfo:
    url: str
    ca_path: Path
    seed: Seed

    def tenant_settings(self) -> TenantSettings:
        return tenant_settings_for(self.seed, self.url, self.ca_path)


def _announce(info: RunningEmulatorInfo) -> None:
    settings = info.tenant_settings()
    lines = [
        f"riposte emulator listening on {info.url} (CA: {info.ca_path})",
        "point Riposte at it with:",
        f"  RIPOSTE_TENANT__AUTHORITY_HOST={settings.authority_host}",
        f"  RIPOSTE_TENANT__GRAPH_URL={settings.graph_url}",
        f"  RIPOSTE_TENANT__ARM_ENDPOINT={settings.arm_endpoint}",
        f"  RIPOSTE_TENANT__CA_BUNDLE={settings.ca_bundle}",
        f"  RIPOSTE_TENANT__TENANT_ID={settings.tenant_id}",
        f"  RIPOSTE_TENANT__CLIENT_ID={settings.client_id}",
        "  RIPOSTE_TENANT__CLIENT_SECRET=<the client_secret in the seed file>",
    ]
    print("\n".join(lines), flush=True)
