"""The audit store: where events are appended, queried and verified, whatever the backend.

`open_store(url)` picks the backend by URL: `sqlite:///path/to/audit.db` (the default, in the
data dir) or `postgresql://user@host:port/db` (production). Both keep the same promises:

- `append` is idempotent by record id, extends one unbroken chain (seq 1, 2, 3...) atomically
  even with writers in several processes, and never updates or deletes a row;
- `query` returns events in seq order; `verify` walks the whole chain, and with a checkpoint
  also proves that nothing up to it changed.

The key seals the chain (riposte.audit.chain). Entry points always pass one (see
riposte.audit.key); a store opened without one writes and checks an unkeyed chain, which is
what tests and tools that build throwaway stores use.

Errors (beyond `riposte.errors`):

    Unavailable              the store cannot be reached or opened
    └── SchemaTooNew         its schema is newer than this code (riposte.audit.schema)
    InvalidInput
    └── UnsupportedStoreUrl  a URL no backend serves
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from riposte.audit.checkpoint import Checkpoint
from riposte.audit.events import AuditEvent, AuditFilter, AuditRecord, VerifyResult
from riposte.audit.key import AuditKey, audit_key
from riposte.errors import InvalidInput
from riposte.settings import Settings

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class UnsupportedStoreUrl(InvalidInput):
    pass


class AuditStore(Protocol):
    """An append-only, hash-chained audit trail. Synchronous; safe to share between threads."""

    def append(self, records: Sequence[AuditRecord]) -> list[AuditEvent]:
        """Append in order; one stored event per record (a stored id is not written again)."""
        ...

    def query(self, f: AuditFilter) -> list[AuditEvent]:
        """Events that pass every filter, by seq."""
        ...

    def verify(self, checkpoint: Checkpoint | None = None) -> VerifyResult:
        """Walk the chain and report every place where it breaks (or differs from checkpoint)."""
        ...

    def close(self) -> None: ...


def open_store(url: str, key: AuditKey | None = None) -> AuditStore:
    """Open (creating and migrating as needed) the store the URL names."""
    if url.startswith(SQLITE_PREFIX):
        from riposte.audit.sqlite import SqliteStore

        return SqliteStore(Path(url.removeprefix(SQLITE_PREFIX)), key)
    if url.startswith(POSTGRES_SCHEMES):
        from riposte.audit.postgres import PostgresStore

        return PostgresStore(url, key)
    scheme = url.partition(":")[0] or url[:10]
    raise UnsupportedStoreUrl(
        f"unsupported audit store URL scheme {scheme!r}: use sqlite:///PATH or postgresql://..."
    )


def open_configured(settings: Settings, *, writer: bool = True) -> AuditStore:
    """The settings' store under the settings' key; a writer makes the key file when missing."""
    return open_store(settings.audit_store_url, audit_key(settings, create=writer))
