"""What `riposte doctor` reports: one line per check, OK, FAIL or SKIP, in plain words."""

from __future__ import annotations

from enum import StrEnum

from pydantic import computed_field
from temporalio.exceptions import ApplicationError

from riposte.failures import FailureType
from riposte.model import Frozen


class Status(StrEnum):
    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"  # not checked: nothing to check, or an earlier failure prevents it


class Check(Frozen):
    name: str
    status: Status
    detail: str


class Report(Frozen):
    checks: tuple[Check, ...]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        return all(check.status is not Status.FAIL for check in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.status is Status.FAIL)


def ok(name: str, detail: str) -> Check:
    return Check(name=name, status=Status.OK, detail=detail)


def fail(name: str, detail: str) -> Check:
    return Check(name=name, status=Status.FAIL, detail=detail)


def skip(name: str, detail: str) -> Check:
    return Check(name=name, status=Status.SKIP, detail=detail)


def explain(doing: str, err: ApplicationError, *, refused: str, missing: str = "") -> str:
    """A failed call in plain words: what was refused and what to grant, or what is missing.

    `err` is a failure from `activities.errors.translated`, whose message names the status,
    the service's error code and message, and never a token or a secret.
    """
    details = err.details[0] if err.details and isinstance(err.details[0], dict) else {}
    code = details.get("code")
    kind = err.type
    if kind == FailureType.FORBIDDEN:
        return f"{doing} was refused (403{' ' + code if code else ''}): {refused}"
    if kind == FailureType.NOT_FOUND and missing:
        return f"{missing} ({err.message})"
    if kind == FailureType.UNAUTHORIZED:
        return (
            f"{err.message}; the credential or its token was not accepted: check tenant_id, "
            "client_id and the client secret, certificate or managed identity"
        )
    if kind == FailureType.TRANSIENT:
        return f"{err.message}; the service was busy or could not be reached: try again"
    return err.message
