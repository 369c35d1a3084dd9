"""The tenant emulator in its own process, noting when each Graph write reaches it.

    python bench/tenant_probe.py DATA_DIR SEED PORT

The throughput bench uses it as the clock of "first action": the moment the emulator receives
the first write (PATCH, POST, PUT or DELETE under /v1.0/users/) for an alert's user.
`GET /_bench/writes` answers every write seen so far as `[[time.time(), method, path], ...]`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from tenant_emulator.seed import load_seed
from tenant_emulator.server import build_app
from tenant_emulator.state import EmulatorState
from tenant_emulator.tls import ensure_certificates

WRITES = frozenset({"PATCH", "POST", "PUT", "DELETE"})


class WriteLog:
    """ASGI middleware: stamp each Graph user write on arrival, and serve the stamps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.writes: list[tuple[float, str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == "/_bench/writes":
                await _json(send, self.writes)
                return
            if scope["method"] in WRITES and path.startswith("/v1.0/users/"):
                self.writes.append((time.time(), scope["method"], path))
        await self.app(scope, receive, send)


async def _json(send: Send, data: Any) -> None:
    body = json.dumps(data).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main(data_dir: Path, seed: Path, port: int) -> None:
    cert = ensure_certificates(data_dir)
    app = WriteLog(build_app(EmulatorState(load_seed(seed))))
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(cert.cert_path),
        ssl_keyfile=str(cert.key_path),
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="h11",
        loop="asyncio",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
