"""Errors the emulator answers with, each in its service's own JSON shape.

    EmulatorError           status + code + message
    ├── GraphError          {"error": {"code", "message", "innerError"}}
    ├── ArmError            {"error": {"code", "message", "details"}}
    └── LoginError          {"error", "error_description", "error_codes", ...} (OAuth 2.0)

The stores raise them; `response_for` turns one into the HTTP response the real service sends.
"""

from __future__ import annotations

import datetime as dt
import uuid

from starlette.responses import JSONResponse


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


def response_for(error: EmulatorError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)
