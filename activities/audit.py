"""The audit activity: append a batch of events to the store, and say where each landed.

It does one short write (SQLite or one PostgreSQL transaction). The workflow runs it as a regular
activity (see workflows/respond_to_alert.py for why not a local one). Appends are idempotent by
event id, so a retry never duplicates an event. The alert an `alert_received` event keeps has its
`raw` part capped here (`riposte.audit.received`).
"""

from __future__ import annotations

import asyncio

from temporalio.exceptions import ApplicationError

from riposte.audit.events import RECORD_AUDIT, AuditBatch, AuditReceipt
from riposte.audit.received import cap_raw
from riposte.audit.store import AuditStore
from riposte.errors import InvalidInput
from riposte.failures import FailureType


class AuditActivities:
    def __init__(self, store: AuditStore, *, raw_max_bytes: int = 16_384) -> None:
        self._store = store
        self._raw_max_bytes = raw_max_bytes  # the cap on a kept alert's `raw` JSON

    @RECORD_AUDIT.defn
    async def record_audit(self, batch: AuditBatch) -> AuditReceipt:
        """Append the batch in order; a store that cannot be reached fails the attempt (retried)."""
        try:
            records = [cap_raw(record, self._raw_max_bytes) for record in batch.records]
            events = await asyncio.to_thread(self._store.append, records)
        except InvalidInput as err:
            raise ApplicationError(
                str(err), type=FailureType.INVALID_AUDIT_RECORD, non_retryable=True
            ) from err
        return AuditReceipt(seqs=tuple(event.seq for event in events))
