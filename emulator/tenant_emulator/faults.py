"""Fault injection: make chosen routes slow, throttled, failing, or refused.

A fault names its routes by a glob over route names (`graph.users.patch`, `graph.mail.*`,
`arm.*`; see `tenant_emulator.routes`) or by "METHOD /path/glob" (`PATCH /v1.0/users/*`,
`* /subscriptions/*`), matched against the raw path and the route template. It then adds
`latency_ms`, and answers either `status` (429, 503, ...; with `Retry-After: retry_after` when
given) or, with `deny`, the service's own 403 for missing privileges (Graph
Authorization_RequestDenied / ErrorAccessDenied, ARM AuthorizationFailed).

`fraction` picks which matching requests are hit, deterministically: 0.5 hits the 1st, 3rd, 5th
... `count` stops the fault after it has hit that many requests. At the command line a fault is
`ROUTE=SPEC`, SPEC being comma-separated `429`, `deny`, `retry_after=2`, `latency_ms=300`,
`fraction=0.5`, `count=3` (e.g. `graph.users.patch=429,retry_after=1,count=2`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, ValidationError, model_validator

from riposte.errors import InvalidInput
from riposte.model import Frozen
from tenant_emulator.errors import ArmError, EmulatorError, GraphError, LoginError, StorageError
from tenant_emulator.routes import ARM_ACTIONS, RouteInfo, Service


class Fault(Frozen):
    route: str = Field(min_length=1)
    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0)
    latency_ms: int = Field(default=0, ge=0, le=120_000)
    fraction: float = Field(default=1.0, ge=0, le=1)
    count: int | None = Field(default=None, ge=1)
    deny: bool = False

    @model_validator(mode="after")
    def _does_something(self) -> Fault:
        if self.deny and self.status is not None:
            raise ValueError("a fault either denies or answers a status, not both")
        if not (self.deny or self.status or self.latency_ms):
            raise ValueError("a fault needs a status, deny, or latency_ms")
        return self

    def matches(self, route: RouteInfo, method: str, path: str) -> bool:
        if " " not in self.route:
            return fnmatch.fnmatchcase(route.name, self.route)
        want_method, pattern = self.route.split(" ", 1)
        if want_method != "*" and want_method.upper() != method.upper():
            return False
        pattern = pattern.strip()
        return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(route.template, pattern)


def parse_fault(text: str) -> Fault:
    """`ROUTE=SPEC` from the command line."""
    route, sep, spec = text.partition("=")
    if not sep:
        raise InvalidInput(f"fault {text!r}: expected ROUTE=SPEC, e.g. graph.users.patch=429")
    values: dict[str, Any] = {"route": route.strip()}
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        key, eq, value = item.partition("=")
        if not eq:
            if item == "deny":
                values["deny"] = True
            elif item.isdigit():
                values["status"] = int(item)
            else:
                raise InvalidInput(f"fault {text!r}: unknown item {item!r}")
        else:
            values[key.strip()] = value.strip()
    try:
        return Fault.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        raise InvalidInput(f"fault {text!r}: {first['loc']}: {first['msg']}") from err


@dataclass
class _Active:
    fault: Fault
    credit: float
    hits: int = 0

    def fires(self) -> bool:
        if self.fault.fraction == 0 or (self.fault.count and self.hits >= self.fault.count):
            return False
        self.credit += self.fault.fraction
        if self.credit < 1 - 1e-9:
            return False
        self.credit -= 1
        self.hits += 1
        return True


@dataclass(frozen=True)
class Decision:
    latency_ms: int = 0
    error: EmulatorError | None = None
    retry_after: float | None = None


@dataclass
class Faults:
    """The faults in force, in the order they were added; the first that fires answers."""

    active: list[_Active] = field(default_factory=list)

    def add(self, fault: Fault) -> None:
        self.active.append(_Active(fault, credit=1 - fault.fraction))

    def clear(self) -> None:
        self.active.clear()

    def listing(self) -> list[dict[str, Any]]:
        return [a.fault.model_dump() | {"hits": a.hits} for a in self.active]

    def decide(self, route: RouteInfo, method: str, path: str) -> Decision:
        latency, error, retry_after = 0, None, None
        for active in self.active:
            if error is not None or not active.fault.matches(route, method, path):
                continue
            if not active.fires():
                continue
            latency += active.fault.latency_ms
            if active.fault.deny:
                error = denial(route)
            elif active.fault.status is not None:
                error = failure(route, active.fault.status)
                retry_after = active.fault.retry_after
        return Decision(latency, error, retry_after)


def denial(route: RouteInfo) -> EmulatorError:
    """The 403 (401 at login) the service sends when the app lacks the permission."""
    if route.service is Service.ARM:
        action = ARM_ACTIONS.get(route.name, "Microsoft.Network/*")
        return ArmError(
            403,
            "AuthorizationFailed",
            "The client 'riposte' does not have authorization to perform action "
            f"'{action}' over the scope or the scope is invalid. If access was recently "
            "granted, please refresh your credentials.",
        )
    if route.service is Service.LOGIN:
        return LoginError(401, "invalid_client", 7000215, "Invalid client secret provided.")
    if route.service is Service.STORAGE:
        return StorageError(
            403,
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
        )
    if route.name.startswith("graph.mail."):
        return GraphError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


_GRAPH_CODES = {
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "serviceNotAvailable",
    504: "GatewayTimeout",
}
_ARM_CODES = {
    429: "SubscriptionRequestsThrottled",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def failure(route: RouteInfo, status: int) -> EmulatorError:
    """An injected error answer in the service's own words."""
    if route.service is Service.ARM:
        code = _ARM_CODES.get(status, "InjectedFault")
        return ArmError(status, code, f"The request failed with status {status} (injected).")
    if route.service is Service.LOGIN:
        error = "temporarily_unavailable" if status in (429, 503) else "server_error"
        return LoginError(status, error, 50196 if status == 429 else 90033, "Injected fault.")
    if route.service is Service.STORAGE:
        code = "ServerBusy" if status in (429, 503) else "InternalError"
        return StorageError(status, code, f"The request failed with status {status} (injected).")
    code = _GRAPH_CODES.get(status, "UnknownError")
    return GraphError(status, code, f"The request failed with status {status} (injected).")
