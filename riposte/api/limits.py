"""The request size limit, enforced before any route reads a body."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riposte.api.errors import BodyTooLarge, Problem, problem_of


class BodySizeLimit:
    """Answer 413 to a declared Content-Length over the limit; stop a streamed body at the limit.

    A streamed body that crosses the limit raises `BodyTooLarge` from `receive`, inside the route,
    so the API's one error handler answers it.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, on_refused: Callable[[str], None] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_refused = on_refused  # told the path of each request refused up front

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            if self.on_refused is not None:
                self.on_refused(str(scope.get("path", "")))
            await self._refuse(send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)

    async def _refuse(self, send: Send) -> None:
        status, problem = problem_of(BodyTooLarge(self.max_bytes))
        body = _json(problem)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _json(problem: Problem) -> bytes:
    return problem.model_dump_json(exclude_defaults=True).encode()
