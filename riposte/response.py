"""A response's public shape: its actions and their states, and the messages that change them.

These are the payloads of the `RespondToAlert` workflow (input, query, updates) and the bodies
the CLI and API show.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from riposte.actions.payloads import ActionName, ActionParams, ActionResult
from riposte.alerts import Alert
from riposte.incidents.models import IncidentTask
from riposte.model import Frozen
from riposte.modes import Mode, OnTimeout


class ActionState(StrEnum):
    PLANNED = "planned"
    PENDING_APPROVAL = "pending_approval"
    SIMULATED = "simulated"
    EXECUTED = "executed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"
    REVERTED = "reverted"
    RELEASED = "released"
    EXCLUDED = "excluded"


class ResponseStatus(StrEnum):
    """The `ResponseStatus` search attribute: lists responses without scanning them all."""

    RUNNING = "running"
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"  # executed actions wait for their revert
    COMPLETED = "completed"


class PlannedAction(Frozen):
    """One action the policies call for, decided purely from the alert and the snapshot."""

    action_id: str  # "{response_id}:a{n}"
    action: ActionName
    target: str
    mode: Mode
    params: ActionParams = ActionParams()
    policy: str
    policy_hash: str
    duration_seconds: int | None = None
    approval_timeout_seconds: int = 4 * 3600
    on_timeout: OnTimeout = OnTimeout.EXPIRE
    approvers: int = Field(default=1, ge=1)  # distinct principals whose approval it needs
    excluded_reason: str = ""  # non-empty: never acted on


class ActionView(Frozen):
    action_id: str
    action: ActionName
    target: str
    mode: Mode
    state: ActionState
    policy: str
    policy_hash: str
    change: str = ""  # the exact change made, simulated, or to be approved
    api_calls: tuple[str, ...] = ()
    revert_at: datetime | None = None
    decided_by: str = ""
    decided_unauthenticated: bool = False  # decided through the CLI's own, unvouched identity
    comment: str = ""
    error: str = ""
    result: ActionResult | None = None
    approvers: int = 1  # approvals it needs
    approved_by: tuple[str, ...] = ()  # who approved so far, in order
    over_budget: str = ""  # set when an autonomous action waits for approval past its budget

    @property
    def approvals(self) -> str:
        """The count of approvals, like "1 of 2 approvals"."""
        return f"{len(self.approved_by)} of {self.approvers} approvals"


class MatchedPolicy(Frozen):
    name: str
    hash: str
    mode: Mode


class ResponseView(Frozen):
    response_id: str
    alert: Alert
    status: ResponseStatus
    incident_id: str = ""  # the incident it belongs to, once joined
    matched: tuple[MatchedPolicy, ...] = ()
    no_match_reason: str = ""
    actions: tuple[ActionView, ...] = ()


class RespondInput(Frozen):
    alert: Alert
    sender: str = ""  # the principal that sent the alert ("" from before senders were known)
    joins_incident: bool = False  # intake joins it to an incident: wait to learn which
    incident: IncidentTask | None = None  # set when an incident started it for a shared target
    senders: tuple[str, ...] = ()  # an incident's response: who sent its alerts (none decides)


CLI_PREFIX = "cli:"  # the CLI's own identity, "cli:<os user>": never a token's name (no ':')


class Decision(Frozen):
    """An admin's answer to a pending action. `by` is the authenticated principal, or the
    CLI's own identity (`cli:<os user>`) with `authenticated` False."""

    action_id: str
    approve: bool
    by: str = Field(min_length=1)
    comment: str = ""
    reason: str = ""  # required by the API and console when rejecting
    authenticated: bool = True

    def noted(self, text: str) -> str:
        """Audit detail: `text`, flagged when no credential vouches for `by`."""
        return flagged(text, authenticated=self.authenticated)


class Release(Frozen):
    """Revert an executed action before its duration runs out."""

    action_id: str
    by: str = Field(min_length=1)
    comment: str = ""
    authenticated: bool = True

    def noted(self, text: str) -> str:
        return flagged(text, authenticated=self.authenticated)


def flagged(text: str, *, authenticated: bool) -> str:
    """`text`, prefixed with a warning when no credential vouches for who asked."""
    if authenticated:
        return text
    return "; ".join(part for part in ("unauthenticated CLI decision", text) if part)


def response_id_of(action_id: str) -> str:
    """The response an action belongs to (action ids are "{response_id}:a{n}")."""
    response_id, sep, _ = action_id.rpartition(":")
    return response_id if sep else ""
