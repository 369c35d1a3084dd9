"""The `record_audit` activity, run in the SDK's activity environment against a real store."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.audit import AuditActivities
from riposte.audit.events import AuditBatch, AuditFilter, AuditReceipt
from riposte.audit.store import AuditStore
from riposte.failures import FailureType
from tests.plugins.audit import record, records


async def test_record_audit_returns_each_records_seq(audit_store: AuditStore) -> None:
    """A batch is appended in order and the receipt gives each record's seq."""
    activities = AuditActivities(audit_store)
    receipt = await ActivityEnvironment().run(
        activities.record_audit, AuditBatch(records=tuple(records(3)))
    )
    assert receipt == AuditReceipt(seqs=(1, 2, 3))
    assert [e.id for e in audit_store.query(AuditFilter())] == [r.id for r in records(3)]


async def test_a_retried_batch_is_not_written_twice(audit_store: AuditStore) -> None:
    """Running the same batch again (a retry) returns the same seqs and stores nothing new."""
    activities = AuditActivities(audit_store)
    batch = AuditBatch(records=tuple(records(2)))
    first = await ActivityEnvironment().run(activities.record_audit, batch)
    again = await ActivityEnvironment().run(activities.record_audit, batch)
    assert first == again == AuditReceipt(seqs=(1, 2))
    assert len(audit_store.query(AuditFilter())) == 2


async def test_a_record_without_an_id_fails_without_retrying(audit_store: AuditStore) -> None:
    """Bad input is a non-retryable ApplicationError with a typed `type`, not an endless retry."""
    activities = AuditActivities(audit_store)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            activities.record_audit, AuditBatch(records=(record(0, id=""),))
        )
    assert caught.value.non_retryable
    assert caught.value.type == FailureType.INVALID_AUDIT_RECORD
