"""The native alert kept in an `alert_received` event, so the audit store is a replayable history.

The event's `detail` is the one-line summary people read, then a newline, then the alert as
compact JSON (one line: JSON escapes newlines). The workflow writes the whole alert; the audit
activity caps its `raw` part (`Settings.audit_raw_max_bytes`) before the event is stored, keeping
the first bytes of raw's JSON under `raw.truncated`. `policy backtest` reads the alert back with
`alert_of`; events written before the alert was kept have no JSON line and read as None.

Pure: workflow code builds the detail.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from riposte.alerts import Alert
from riposte.audit.events import AuditKind, AuditRecord

TRUNCATED = "truncated"  # raw's key when it was cut: {"truncated": "<head>", "bytes": N}


def summary(alert: Alert) -> str:
    return f"{alert.name} ({alert.severity.value}, score {alert.score})"


def received_detail(alert: Alert) -> str:
    """The detail of an `alert_received` event: the summary line, then the alert's JSON line."""
    return f"{summary(alert)}\n{_compact(alert.model_dump(mode='json'))}"


def cap_raw(record: AuditRecord, max_bytes: int) -> AuditRecord:
    """`record` with the kept alert's `raw` cut to `max_bytes` of JSON (other records unchanged)."""
    if record.kind is not AuditKind.ALERT_RECEIVED:
        return record
    head, sep, body = record.detail.rpartition("\n")
    kept = _decode(body) if sep else None
    if kept is None:
        return record
    raw = _compact(kept.get("raw", {}))
    if len(raw.encode()) <= max_bytes:
        return record
    cut = raw.encode()[:max_bytes].decode(errors="ignore")
    kept["raw"] = {TRUNCATED: cut, "bytes": len(raw.encode())}
    return record.model_copy(update={"detail": f"{head}\n{_compact(kept)}"})


def alert_of(kind: AuditKind | str, detail: str) -> Alert | None:
    """The native alert an `alert_received` event kept; None for events that kept none."""
    if kind != AuditKind.ALERT_RECEIVED:
        return None
    _, sep, body = detail.rpartition("\n")
    kept = _decode(body) if sep else None
    if kept is None:
        return None
    try:
        return Alert.model_validate(kept)
    except ValidationError:
        return None


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _decode(body: str) -> dict[str, Any] | None:
    if not body.startswith("{"):
        return None
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
