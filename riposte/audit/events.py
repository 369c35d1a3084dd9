"""Audit events: what the engine writes (`AuditRecord`) and what the store keeps (`AuditEvent`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from riposte.activity_refs import ActivityRef
from riposte.model import Frozen


class AuditKind(StrEnum):
    ALERT_RECEIVED = "alert_received"
    POLICY_MATCHED = "policy_matched"
    NO_MATCH = "no_match"
    EXCLUDED = "excluded"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPROVAL_EXPIRED = "approval_expired"
    SIMULATED = "simulated"
    EXECUTED = "executed"
    FAILED = "failed"
    REVERTED = "reverted"
    RELEASED = "released"
    RECONCILED = "reconciled"  # a block no live response held, reverted by the reconciler
    DENIED = "denied"  # a refused API attempt (authentication or role)
    ESCALATED = "escalated"  # an incident-scope policy changed an action's mode
    BUDGET_EXCEEDED = "budget_exceeded"  # an autonomous action past its budget waits instead


ENGINE = "engine"


class AuditRecord(Frozen):
    """One event as the writer knows it. `id` is deterministic, so a retried write is a no-op."""

    id: str
    time: datetime
    kind: AuditKind
    response_id: str = ""
    alert_id: str = ""
    incident_id: str = ""  # the incident the response belongs to, once known
    policy: str = ""
    policy_hash: str = ""
    action_id: str = ""
    action: str = ""
    target: str = ""
    mode: str = ""
    actor: str = ENGINE
    detail: str = ""


class AuditEvent(AuditRecord):
    """One event as stored: its place in the chain and the hashes that seal it."""

    seq: int
    prev_hash: str
    hash: str


class AuditFilter(Frozen):
    """Every field narrows the result; None means any."""

    since: datetime | None = None
    until: datetime | None = None
    response_id: str | None = None
    target: str | None = None
    action: str | None = None
    actor: str | None = None
    policy: str | None = None
    kind: AuditKind | None = None
    after_seq: int = 0  # for pagination
    limit: int | None = None


class VerifyResult(Frozen):
    ok: bool
    events: int
    problems: tuple[str, ...] = ()  # "seq 7: hash does not match its content", ...
    head: str = ""  # the hash of the last event: an auditor can note it and compare later
    seq: int = 0  # the last event's seq
    keyed_from: int = 1  # events from this seq on are sealed with the audit key
    notes: tuple[str, ...] = ()  # facts worth knowing that are not breaks (an unkeyed prefix)


class AuditBatch(Frozen):
    """The `record_audit` activity's input: events to append, in order."""

    records: tuple[AuditRecord, ...]


class AuditReceipt(Frozen):
    """The `record_audit` activity's result: each record's place in the chain, in input order."""

    seqs: tuple[int, ...]


RECORD_AUDIT = ActivityRef("record_audit", AuditBatch, AuditReceipt)
"""Appends a batch of events to the audit store (`activities.audit`)."""
