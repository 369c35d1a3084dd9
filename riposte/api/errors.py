"""Every error the API answers with, as one body shape, mapped to a status code in one handler.

The API's own errors extend the domain hierarchy in `riposte.errors`:

    RiposteError
    ├── InvalidInput ─────────── 422, with the field path
    │   ├── UnknownFormat ────── 422, naming the supported formats
    │   └── MalformedJson ────── 400, with the line and column where it broke
    ├── NotFound ─────────────── 404
    ├── Conflict ─────────────── 409, with the action's current state
    ├── NotPermitted ─────────── 403 (e.g. a decision by the alert's own sender)
    │   └── Forbidden ────────── 403 (a role that does not allow the route, an unbound source)
    ├── Unavailable ──────────── 503
    ├── BodyTooLarge ─────────── 413
    ├── Unauthenticated ──────── 401 (no, unknown or badly signed credentials)
    └── TooManyRequests ──────── 429 (an address refused too often in this window)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from riposte.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    NotPermitted,
    RiposteError,
    Unavailable,
    UnknownFormat,
)
from riposte.model import Frozen


class ErrorCode(StrEnum):
    MALFORMED_JSON = "malformed_json"
    INVALID = "invalid"
    UNKNOWN_FORMAT = "unknown_format"
    TOO_LARGE = "too_large"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    TOO_MANY = "too_many_requests"
    UNAVAILABLE = "unavailable"
    HTTP = "http"


class Problem(Frozen):
    """The body of every error answer."""

    error: ErrorCode
    message: str
    location: str = ""  # the field path ("entities.ip", "body.reason") or "line 3, column 9"
    line: int | None = None
    column: int | None = None
    supported: tuple[str, ...] = ()  # the valid choices, when the input named an unknown one
    state: str | None = None  # an action's current state, on 409


class MalformedJson(InvalidInput):
    def __init__(self, message: str, *, line: int, column: int) -> None:
        super().__init__(message, location=f"line {line}, column {column}")
        self.line, self.column = line, column


class BodyTooLarge(RiposteError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than the limit of {limit} bytes")
        self.limit = limit


class Unauthenticated(RiposteError):
    """No credentials, an unknown token, or a missing, stale, wrong or replayed signature."""


class TooManyRequests(RiposteError):
    """An address refused too often in the current window: answered without a second look."""


class Forbidden(NotPermitted):
    """The caller is known but their role does not allow the route, or their token is not
    bound to the source they claim."""


def problem_of(err: Exception, supported_formats: tuple[str, ...] = ()) -> tuple[int, Problem]:
    """The status code and body that answer a domain or API error."""
    match err:
        case MalformedJson():
            return 400, Problem(
                error=ErrorCode.MALFORMED_JSON,
                message=_bare(err),
                location=err.location,
                line=err.line,
                column=err.column,
            )
        case UnknownFormat():
            return 422, Problem(
                error=ErrorCode.UNKNOWN_FORMAT,
                message=_bare(err),
                location=err.location,
                supported=supported_formats,
            )
        case InvalidInput():
            return 422, Problem(error=ErrorCode.INVALID, message=_bare(err), location=err.location)
        case ValidationError():
            return 422, _validation_problem(err.errors(include_input=False))
        case NotFound():
            return 404, Problem(error=ErrorCode.NOT_FOUND, message=str(err))
        case Conflict():
            return 409, Problem(error=ErrorCode.CONFLICT, message=str(err), state=err.state)
        case Unavailable():
            return 503, Problem(error=ErrorCode.UNAVAILABLE, message=str(err))
        case BodyTooLarge():
            return 413, Problem(error=ErrorCode.TOO_LARGE, message=str(err))
        case TooManyRequests():
            return 429, Problem(error=ErrorCode.TOO_MANY, message=str(err))
        case Unauthenticated():
            return 401, Problem(error=ErrorCode.UNAUTHENTICATED, message=str(err))
        case NotPermitted():
            return 403, Problem(error=ErrorCode.FORBIDDEN, message=str(err))
    return 500, Problem(error=ErrorCode.HTTP, message="internal error")


def _bare(err: InvalidInput) -> str:
    """The message without the location prefix InvalidInput adds (the body carries it apart)."""
    text = str(err)
    prefix = f"{err.location}: "
    return text[len(prefix) :] if err.location and text.startswith(prefix) else text


def _validation_problem(errors: Sequence[Any]) -> Problem:
    first = errors[0] if errors else {"loc": (), "msg": "invalid"}
    path = ".".join(str(part) for part in first["loc"])
    return Problem(error=ErrorCode.INVALID, message=str(first["msg"]), location=path)


def malformed_at(message: str, doc: str, pos: int) -> MalformedJson:
    """A MalformedJson naming the line and column of character `pos` in `doc`."""
    line = doc.count("\n", 0, pos) + 1
    column = pos - doc.rfind("\n", 0, pos)
    return MalformedJson(message, line=line, column=column)


def respond(
    status: int, problem: Problem, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    body = problem.model_dump(mode="json", exclude_defaults=True)
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI, supported_formats: tuple[str, ...]) -> None:
    """Map every error to its answer, in this one place."""

    async def on_error(_: Request, err: Exception) -> JSONResponse:
        return respond(*problem_of(err, supported_formats))

    async def on_request_validation(_: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, RequestValidationError)
        errors = err.errors()
        broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if broken is not None and isinstance(err.body, str):
            # FastAPI decoding a body model's JSON: answer like intake does, as a 400.
            message = str(broken.get("ctx", {}).get("error", "invalid JSON"))
            return respond(*problem_of(malformed_at(message, err.body, int(broken["loc"][-1]))))
        return respond(422, _validation_problem(errors))

    async def on_http_error(_: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, HTTPException)
        problem = Problem(error=ErrorCode.HTTP, message=str(err.detail))
        return respond(err.status_code, problem, err.headers)

    app.add_exception_handler(RiposteError, on_error)
    app.add_exception_handler(ValidationError, on_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(HTTPException, on_http_error)
