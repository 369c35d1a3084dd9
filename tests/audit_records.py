"""Audit records for the audit tests: deterministic ids and times, varied fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from riposte.audit.events import AuditKind, AuditRecord

START = datetime(2021, 6, 9, 9, 0, tzinfo=UTC)

_TARGETS = ("ben@contoso.com", "10.8.0.25", "adele@contoso.com")
_ACTIONS = ("disable_sign_in", "block_ports", "delete_inbox_rules")
_KINDS = (AuditKind.SIMULATED, AuditKind.EXECUTED, AuditKind.APPROVED)


def record(n: int, **fields: object) -> AuditRecord:
    """The n-th sample record: one minute after the previous, cycling targets and kinds."""
    base: dict[str, object] = {
        "id": f"resp-{n // 3}:a{n % 3}:{n}",
        "time": START + timedelta(minutes=n),
        "kind": _KINDS[n % 3],
        "response_id": f"darktrace:dt-{n // 3}",
        "alert_id": f"dt-{n // 3}",
        "policy": "m365-account-takeover" if n % 2 == 0 else "network-lateral-movement",
        "policy_hash": "ab" * 32,
        "action_id": f"darktrace:dt-{n // 3}:a{n % 3}",
        "action": _ACTIONS[n % 3],
        "target": _TARGETS[n % 3],
        "mode": "autonomous",
        "actor": "engine" if n % 3 != 2 else "soc.admin",
        "detail": f"event {n}",
    }
    base.update(fields)
    return AuditRecord.model_validate(base)


def records(count: int, start: int = 0) -> list[AuditRecord]:
    return [record(n) for n in range(start, start + count)]
