"""`alert_received` keeps the native alert, its raw part capped, so backtest can replay it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from activities.audit import AuditActivities
from riposte.alerts import Alert
from riposte.audit.events import AuditBatch, AuditFilter, AuditKind, AuditRecord
from riposte.audit.received import TRUNCATED, alert_of, received_detail
from riposte.audit.store import open_store

ALERT = Alert.model_validate(
    {
        "id": "dt-1",
        "source": "darktrace",
        "name": "SaaS / Compromise / Unusual Login\nand New Email Rule",
        "severity": "high",
        "score": 0.93,
        "time": "2021-06-09T09:12:00Z",
        "entities": {"user": "ben@contoso.com", "inbox_rules": ["."]},
        "raw": {"pbid": 1, "events": ["x" * 5000]},
    }
)


def received(detail: str) -> AuditRecord:
    return AuditRecord(
        id="r/1/alert_received",
        time=datetime(2021, 6, 9, tzinfo=UTC),
        kind=AuditKind.ALERT_RECEIVED,
        response_id="darktrace:dt-1",
        alert_id="dt-1",
        detail=detail,
    )


def test_the_detail_reads_back_as_the_same_alert() -> None:
    """The kept alert round-trips exactly, even with a newline in its name."""
    detail = received_detail(ALERT)
    assert detail.startswith("SaaS / Compromise")
    assert alert_of(AuditKind.ALERT_RECEIVED, detail) == ALERT


def test_events_written_before_the_alert_was_kept_read_as_none() -> None:
    """A summary-only detail, or another kind of event, yields no alert."""
    assert alert_of(AuditKind.ALERT_RECEIVED, "SaaS / X (high, score 0.9)") is None
    assert alert_of(AuditKind.NO_MATCH, received_detail(ALERT)) is None


def test_the_audit_activity_caps_the_raw_part(tmp_path: Path) -> None:
    """The stored alert keeps its fields but only the first bytes of a large raw part."""
    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    try:
        activities = AuditActivities(store, raw_max_bytes=100)
        batch = AuditBatch(records=(received(received_detail(ALERT)),))
        asyncio.run(activities.record_audit(batch))
        [event] = store.query(AuditFilter())
    finally:
        store.close()
    kept = alert_of(event.kind, event.detail)
    assert kept is not None
    assert kept.model_dump(exclude={"raw"}) == ALERT.model_dump(exclude={"raw"})
    assert len(kept.raw[TRUNCATED].encode()) <= 100
    assert kept.raw["bytes"] > 5000
