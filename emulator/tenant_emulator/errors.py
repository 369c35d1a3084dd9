"""Errors the emulator answers with, each in its service's own JSON shape.

    EmulatorError           status + code + message
    ├── GraphError          {"error": {"code", "message", "innerError"}}
    ├── ArmError            {"error": {"code", "message", "details"}}
    ├── StorageError        <Error><Code/><Message/></Error>, x-ms-error-code (Blob Storage)
    └── LoginError          {"error", "error_description", "error_codes", ...} (OAuth 2.0)

The stores raise them; `response_for` turns one into the HTTP response the real service sends.
"""

from __future__ import annotations

import datetime as dt
import uuid
from xml.sax.saxutils import escape

from starlette.responses import JSONResponse, Response


class EmulatorError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message}}


class GraphError(EmulatorError):
    def body(self) -> dict[str, object]:
        request_id = str(uuid.uuid4())
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": request_id,
                    "client-request-id": request_id,
                },
            }
        }


class ArmError(EmulatorError):
    def body(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "details": []}}


class StorageError(EmulatorError):
    def xml(self) -> str:
        return (
            '<?xml version="1.0" encoding="utf-8"?><Error>'
            f"<Code>{escape(self.code)}</Code><Message>{escape(self.message)}\n"
            f"RequestId:{uuid.uuid4()}\nTime:{dt.datetime.now(dt.UTC).isoformat()}</Message>"
            "</Error>"
        )


class LoginError(EmulatorError):
    """An OAuth error; `code` is the AADSTS number, `error` the OAuth error name."""

    def __init__(self, status: int, error: str, code: int, message: str) -> None:
        super().__init__(status, error, f"AADSTS{code}: {message}")
        self.aadsts = code

    def body(self) -> dict[str, object]:
        return {
            "error": self.code,
            "error_description": self.message,
            "error_codes": [self.aadsts],
            "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        }


def response_for(error: EmulatorError, headers: dict[str, str] | None = None) -> Response:
    if isinstance(error, StorageError):
        all_headers = {"x-ms-error-code": error.code, **(headers or {})}
        return Response(error.xml(), error.status, all_headers, media_type="application/xml")
    return JSONResponse(error.body(), status_code=error.status, headers=headers)
