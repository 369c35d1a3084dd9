"""SDK errors, translated once at the activity boundary into typed Temporal failures.

    ApplicationError(type=FailureType.…)
    ├── Transient       retryable: 408, 429, 5xx, timeouts, connection errors;
    │                   next_retry_delay comes from Retry-After when the service sends one
    ├── BadRequest      400, other 4xx, or input refused before any call      ─┐
    ├── Unauthorized    401, or the token endpoint refused the credential      │
    ├── Forbidden       403                                                     │ non-retryable
    ├── NotFound        404                                                     │
    ├── Conflict        409 that retrying cannot fix                            │
    └── Configuration   settings point at something that does not exist       ─┘

The SDKs' own retry layers are switched off (see `activities.clients`), so Temporal's retry
policy is the only one and Retry-After reaches it. Messages carry the status, the service's error
code and its message; never a header, a token or a secret. The original exception is not chained,
so nothing from the request (such as its Authorization header) can leak into the failure.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import httpx
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from kiota_abstractions.api_error import APIError
from temporalio.exceptions import ApplicationError

from riposte.actions.descriptor import Need
from riposte.failures import FailureType

_PERMANENT: dict[int, FailureType] = {
    400: FailureType.BAD_REQUEST,
    401: FailureType.UNAUTHORIZED,
    403: FailureType.FORBIDDEN,
    404: FailureType.NOT_FOUND,
    409: FailureType.CONFLICT,
}
_TRANSIENT_STATUS = frozenset({408, 429})
_TRANSIENT_CODES = frozenset({"AnotherOperationInProgress", "RetryableError"})  # ARM's 409s
_MAX_MESSAGE = 400


def status_of(err: BaseException) -> int | None:
    """The HTTP status an SDK error carries, if any."""
    if isinstance(err, APIError):
        return err.response_status_code
    if isinstance(err, HttpResponseError):
        return err.status_code
    return None


def error_code(err: BaseException) -> str | None:
    """The service's error code (Graph `error.code`, ARM `error.code`), if any."""
    if isinstance(err, HttpResponseError):
        return err.error.code if err.error is not None else None
    main = getattr(err, "error", None)  # msgraph's ODataError carries a MainError here
    code = getattr(main, "code", None)
    return code if isinstance(code, str) else None


def failure_for(err: BaseException, doing: str) -> ApplicationError | None:
    """The typed failure for an SDK or transport error; None for anything else (a bug)."""
    if isinstance(err, ApplicationError):
        return err
    if isinstance(err, APIError | HttpResponseError):
        return _from_status(err, doing)
    if isinstance(
        err,
        ServiceRequestError
        | ServiceResponseError
        | httpx.TransportError
        | aiohttp.ClientError
        | TimeoutError,
    ):
        return ApplicationError(
            f"{doing}: {type(err).__name__} reaching the service",
            type=FailureType.TRANSIENT,
        )
    return None


def needing(needs: Iterable[Need], *permissions: str) -> tuple[Need, ...]:
    """The needs among a catalogue entry's `needs` that one call uses, by permission name (so
    a 403 names those, not all the action's); ValueError for a name the entry lacks."""
    found = {need.permission: need for need in needs}
    missing = [name for name in permissions if name not in found]
    if missing:
        raise ValueError(f"the catalogue entry needs no {', '.join(missing)}")
    return tuple(found[name] for name in permissions)


@contextmanager
def translated(doing: str, needs: Iterable[Need] = ()) -> Iterator[None]:
    """Run SDK calls, re-raising their errors as typed failures that say what was being done.

    A 403 names `needs`: the Graph permissions that the call uses (`needing`), from the
    action's catalogue entry.
    """
    try:
        yield
    except ApplicationError:
        raise
    except Exception as err:
        failure = failure_for(err, doing)
        if failure is None:
            raise
        wanted = [need.permission for need in needs]
        if failure.type == FailureType.FORBIDDEN and wanted:
            failure = ApplicationError(
                f"{failure.message}; the app needs the Graph application permission(s) "
                f"{', '.join(wanted)} (with admin consent)",
                *failure.details,
                type=FailureType.FORBIDDEN,
                non_retryable=True,
            )
        raise failure from None


def _from_status(err: APIError | HttpResponseError, doing: str) -> ApplicationError:
    status = status_of(err)
    code = error_code(err)
    detail = _service_message(err)
    text = f"{doing}: HTTP {status if status is not None else '?'}"
    text += f" {code}" if code else ""
    text += f": {detail}" if detail else ""
    details = {"status": status, "code": code}
    transient = status is None or status in _TRANSIENT_STATUS or status >= 500
    if isinstance(err, ClientAuthenticationError) and (status is None or not transient):
        # The token endpoint refused the credential (Entra answers 400 or 401 for that).
        return ApplicationError(text, details, type=FailureType.UNAUTHORIZED, non_retryable=True)
    if transient or code in _TRANSIENT_CODES:
        return ApplicationError(
            text,
            details,
            type=FailureType.TRANSIENT,
            next_retry_delay=retry_after(_headers(err)),
        )
    kind = _PERMANENT.get(status or 0, FailureType.BAD_REQUEST)
    return ApplicationError(text, details, type=kind, non_retryable=True)


def _service_message(err: APIError | HttpResponseError) -> str:
    if isinstance(err, HttpResponseError):
        message = err.error.message if err.error is not None else err.reason
    else:
        message = getattr(getattr(err, "error", None), "message", None) or err.message
    return str(message or "")[:_MAX_MESSAGE]


def _headers(err: APIError | HttpResponseError) -> Mapping[str, Any]:
    if isinstance(err, HttpResponseError):
        headers: Mapping[str, Any] = getattr(err.response, "headers", None) or {}
        return headers
    return err.response_headers or {}


def retry_after(headers: Mapping[str, Any], now: datetime | None = None) -> timedelta | None:
    """The delay a service asks for: `retry-after-ms`, or `Retry-After` in seconds or as a date."""
    lowered = {str(key).lower(): str(value) for key, value in headers.items()}
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
        if name in lowered:
            try:
                return timedelta(seconds=max(0.0, float(lowered[name]) * scale))
            except ValueError:
                pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return timedelta(seconds=max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(timedelta(0), when - (now or datetime.now(UTC)))
