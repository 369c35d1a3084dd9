"""The hash chain: how an event is sealed, and how a stored chain is checked.

Each event's `hash` is sha256 over its `prev_hash` followed by the canonical JSON of every
other field (`seq` and `prev_hash` included, `hash` excluded): keys sorted, no whitespace, ASCII
only, `time` as UTC with microseconds (`2021-06-09T09:12:00.000000Z`). The first event's
`prev_hash` is 64 zeros. Both backends store `time` so that it reads back to the same text.

Nothing here performs I/O: the stores feed rows in and get events or problems out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from riposte.audit.events import AuditEvent, AuditRecord, VerifyResult

GENESIS_HASH = "0" * 64

COLUMNS: tuple[str, ...] = tuple(AuditEvent.model_fields)
"""The stored columns, in the order both backends read and write them."""

CHAINED: tuple[str, ...] = tuple(name for name in COLUMNS if name != "hash")
"""The fields the hash seals. A field added to `AuditEvent` joins the chain only from here."""

Row = Mapping[str, str | int]
"""One stored event as its backend reads it, with `time` already in canonical text."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def canonical_time(moment: datetime) -> str:
    """UTC, microseconds, `Z`: the one text form of an event time (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def content_hash(row: Row) -> str:
    """The hash an event must carry, from its stored fields."""
    body = {name: row[name] for name in CHAINED}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256((str(row["prev_hash"]) + canonical).encode("ascii")).hexdigest()


def storable(text: str) -> str:
    """Text either backend keeps exactly: NUL and lone surrogates become U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


def row_of(event: AuditEvent) -> dict[str, str | int]:
    """An event's stored fields, `time` in canonical text."""
    row: dict[str, str | int] = event.model_dump(mode="python")
    row["time"] = canonical_time(event.time)
    row["kind"] = event.kind.value
    return row


def seal(record: AuditRecord, seq: int, prev_hash: str) -> AuditEvent:
    """The event a record becomes at `seq`, after the event whose hash is `prev_hash`."""
    fields: dict[str, object] = {
        name: storable(value) if isinstance(value, str) else value
        for name, value in record.model_dump(mode="python").items()
    }
    fields["time"] = parse_time(canonical_time(record.time))
    draft = AuditEvent.model_validate({**fields, "seq": seq, "prev_hash": prev_hash, "hash": ""})
    return draft.model_copy(update={"hash": content_hash(row_of(draft))})


def extend(
    records: Sequence[AuditRecord],
    stored: Mapping[str, AuditEvent],
    head_seq: int,
    head_hash: str,
) -> tuple[list[AuditEvent], list[AuditEvent]]:
    """Place records after the head: (one event per record, in order; the events to insert).

    A record whose id is already stored, or earlier in the same batch, is not placed again:
    its slot in the first list is the event already there.
    """
    placed: dict[str, AuditEvent] = dict(stored)
    new: list[AuditEvent] = []
    for record in records:
        if record.id in placed:
            continue
        event = seal(record, head_seq + 1, head_hash)
        head_seq, head_hash = event.seq, event.hash
        placed[record.id] = event
        new.append(event)
    return [placed[record.id] for record in records], new


class ChainCheck:
    """Walks stored rows in seq order and notes every place where the chain breaks."""

    def __init__(self) -> None:
        self._problems: list[str] = []
        self._count = 0
        self._last_seq = 0
        self._last_hash = GENESIS_HASH

    def feed(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self._check(row)

    def _check(self, row: Row) -> None:
        seq = int(row["seq"])
        expected = self._last_seq + 1
        if seq > expected:
            missing = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}-{seq - 1}"
            self._problems.append(f"{missing}: missing (deleted, or moved out of place)")
        if row["prev_hash"] != self._last_hash:
            before = f"seq {self._last_seq}" if self._last_seq else "the chain's start"
            self._problems.append(
                f"seq {seq}: prev_hash does not match the hash of {before} (deleted or reordered)"
            )
        if content_hash(row) != row["hash"]:
            self._problems.append(f"seq {seq}: hash does not match its content (edited or moved)")
        self._count += 1
        self._last_seq = seq
        self._last_hash = str(row["hash"])

    def finish(self, head_seq: int, head_hash: str) -> VerifyResult:
        """The verdict, given the chain head the store recorded with its last append."""
        if head_seq > self._last_seq:
            self._problems.append(
                f"seq {self._last_seq + 1}: missing; the chain head records {head_seq} events"
            )
        elif head_seq < self._last_seq:
            self._problems.append(
                f"seq {head_seq + 1}: events past the chain head (seq {head_seq}) were not "
                "appended by the store"
            )
        elif head_hash != self._last_hash:
            self._problems.append(f"seq {head_seq}: hash differs from the chain head's")
        return VerifyResult(
            ok=not self._problems,
            events=self._count,
            problems=tuple(self._problems),
            head=self._last_hash if self._count else "",
        )
