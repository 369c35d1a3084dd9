"""The keyed hash chain: how an event is sealed, and how a stored chain is checked.

Each event's `hash` is HMAC-SHA256, under the audit key, of its `prev_hash` followed by the
canonical JSON of every other field (`seq` and `prev_hash` included, `hash` excluded, and an
empty `incident_id` left out, so events from before migration 0005 verify unchanged): keys
sorted, no whitespace, ASCII only, `time` as UTC with microseconds (`2021-06-09T09:12:00.000000Z`).
The first event's `prev_hash` is 64 zeros. Both backends store `time` so that it reads back to
the same text. Someone who can write the database but lacks the key cannot re-seal an edit.

Events before the store's `keyed_from` seq (written before migration 0002) are plain SHA-256 of
the same text: still checked, and reported as unkeyed. A store opened without a key (tests,
tools) seals and checks every event that way.

The chain head carries a seal too (`head_mac`, over its seq, its hash and `keyed_from`), and a
check with the key always demands it, also when the store claims no keyed event yet: so neither
a truncated chain with its head moved back, nor a chain re-chained without the key under a
`keyed_from` moved past its end (a downgrade), verifies. Appends carry the seal forward only
from a head that carried it (`appended_head_mac`): one that did not stays unsealed, as evidence.
A head is sealed without a sealed predecessor once only, at upgrade: one that migration 0006
marked as awaiting its seal, with no keyed event yet, is sealed by an opener holding the key
(`upgrade_seal`); a fresh store's empty head is sealed that way in the transaction creating it.

Nothing here performs I/O: the stores feed rows in and get events or problems out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime

from riposte.audit.checkpoint import Checkpoint, signature_ok
from riposte.audit.events import AuditEvent, AuditRecord, VerifyResult
from riposte.audit.key import AuditKey, macs_equal

GENESIS_HASH = "0" * 64
AWAITING_SEAL = "awaiting-seal"
"""The mac migration 0006 gives a head still unsealed with no keyed event: an opener holding the
key seals it (`upgrade_seal`). Never a valid seal, so a head left so fails a keyed check."""
HEAD_TABLE, KEYING_TABLE = "audit_head", "audit_keying"
MAX_PROBLEMS = 100  # a wholly re-chained store would otherwise list every event

COLUMNS: tuple[str, ...] = tuple(AuditEvent.model_fields)
"""The stored columns, in the order both backends read and write them."""

CHAINED: tuple[str, ...] = tuple(name for name in COLUMNS if name != "hash")
"""The fields the hash seals. A field added to `AuditEvent` joins the chain only from here."""

OPTIONAL: frozenset[str] = frozenset({"incident_id"})
"""Fields added after the chain began: sealed only when set."""

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


def content_hash(row: Row, key: AuditKey | None = None) -> str:
    """The hash an event must carry, from its stored fields (unkeyed without a key)."""
    # An empty incident_id is left out, so events from before the field verify as they were.
    body = {name: row[name] for name in CHAINED if name not in OPTIONAL or row[name]}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    # UTF-8: the JSON is ASCII, and a stored prev_hash that is not gets checked, not refused.
    message = (str(row["prev_hash"]) + canonical).encode("utf-8", "surrogatepass")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def head_mac(seq: int, head_hash: str, keyed_from: int, key: AuditKey) -> str:
    """The seal on the chain head: a head moved back, or a `keyed_from` moved on, lacks it."""
    text = f"riposte-audit-head:{seq}:{head_hash}:{keyed_from}"
    # UTF-8, not ASCII: a stored head hash is whatever someone wrote (the same bytes if ASCII).
    message = text.encode("utf-8", "surrogatepass")
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def storable(text: str) -> str:
    """Text either backend keeps exactly: NUL and lone surrogates become U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


def row_of(event: AuditEvent) -> dict[str, str | int]:
    """An event's stored fields, `time` in canonical text."""
    row: dict[str, str | int] = event.model_dump(mode="python")
    row["time"] = canonical_time(event.time)
    row["kind"] = event.kind.value
    return row


def seal(record: AuditRecord, seq: int, prev_hash: str, key: AuditKey | None = None) -> AuditEvent:
    """The event a record becomes at `seq`, after the event whose hash is `prev_hash`."""
    fields: dict[str, object] = {
        name: storable(value) if isinstance(value, str) else value
        for name, value in record.model_dump(mode="python").items()
    }
    fields["time"] = parse_time(canonical_time(record.time))
    draft = AuditEvent.model_validate({**fields, "seq": seq, "prev_hash": prev_hash, "hash": ""})
    return draft.model_copy(update={"hash": content_hash(row_of(draft), key)})


def extend(
    records: Sequence[AuditRecord],
    stored: Mapping[str, AuditEvent],
    head_seq: int,
    head_hash: str,
    key: AuditKey | None = None,
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
        event = seal(record, head_seq + 1, head_hash, key)
        head_seq, head_hash = event.seq, event.hash
        placed[record.id] = event
        new.append(event)
    return [placed[record.id] for record in records], new


class Head:
    """What the store recorded beside its events: the chain head and the keying record."""

    def __init__(
        self,
        seq: int | None,
        hash_: str = "",
        mac: str = "",
        keyed_from: int | None = 1,
        dropped: Collection[str] = (),
    ) -> None:
        self.seq, self.hash, self.mac, self.keyed_from = seq, hash_, mac, keyed_from
        self.dropped = frozenset(dropped)  # of HEAD_TABLE, KEYING_TABLE: the table itself is gone


def head_of(
    head: Sequence[object] | None,
    keying: Sequence[object] | None,
    dropped: Collection[str] = (),
) -> Head:
    """The head and keying rows as the chain check reads them (None: the row is gone)."""
    keyed_from = int(str(keying[0])) if keying and str(keying[0]).isdigit() else None
    if head is None or not str(head[0]).isdigit():
        return Head(None, keyed_from=keyed_from, dropped=dropped)
    return Head(int(str(head[0])), str(head[1]), str(head[2]), keyed_from, dropped)


def head_sealed(head: Head, key: AuditKey) -> bool:
    """Whether the stored head carries the key's seal over its seq, hash and keyed_from."""
    if head.seq is None or head.keyed_from is None:
        return False
    return macs_equal(head.mac, head_mac(head.seq, head.hash, head.keyed_from, key))


def appended_head_mac(stored: Head, seq: int, head_hash: str, key: AuditKey | None) -> str:
    """The mac of the head an append moves to, from `stored`: sealed only if `stored` was.

    A head that lacked its valid seal (edited, or set outside Riposte) is never sealed over: the
    new head stays unsealed ('') and verify keeps reporting it; the append itself goes ahead.
    """
    if key is None or stored.keyed_from is None or not head_sealed(stored, key):
        return ""
    return head_mac(seq, head_hash, stored.keyed_from, key)


def upgrade_seal(head: Head, key: AuditKey) -> str | None:
    """The seal for a head the migrations left awaiting it (None: leave the head as it is).

    Only a head marked `AWAITING_SEAL` with no keyed event yet (`seq` just before `keyed_from`)
    qualifies: the shape migration 0002 leaves, before anything was appended with the key.
    """
    if head.seq is None or head.keyed_from is None or head.mac != AWAITING_SEAL:
        return None
    if head.seq != head.keyed_from - 1:
        return None
    return head_mac(head.seq, head.hash, head.keyed_from, key)


class ChainCheck:
    """Walks stored rows in seq order and notes, in words, every place where the chain breaks."""

    def __init__(
        self, key: AuditKey | None, head: Head, checkpoint: Checkpoint | None = None
    ) -> None:
        self._key = key
        self._head = head
        self._keyed_from = 1 if head.keyed_from is None else head.keyed_from
        self._checkpoint = checkpoint
        self._problems: list[str] = []
        self._count = 0
        self._unkeyed = 0
        self._last_seq = 0
        self._last_hash = GENESIS_HASH
        self._at_checkpoint: str | None = None
        self._upto_checkpoint = 0
        self._problem_seqs = 0

    def _problem(self, text: str) -> None:
        if len(self._problems) < MAX_PROBLEMS:
            self._problems.append(text)
        elif len(self._problems) == MAX_PROBLEMS:
            self._problems.append(f"... more problems after these {MAX_PROBLEMS}")

    def feed(self, rows: Iterable[Row]) -> None:
        for row in rows:
            try:
                self._check(row)
            except (TypeError, ValueError, KeyError):
                self._problem(
                    f"after seq {self._last_seq}: a malformed row (edited outside Riposte)"
                )

    def _check(self, row: Row) -> None:
        seq = int(row["seq"])
        expected = self._last_seq + 1
        if seq > expected:
            missing = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}-{seq - 1}"
            self._problem(f"{missing}: missing (deleted, or moved out of place)")
        if row["prev_hash"] != self._last_hash:
            before = f"seq {self._last_seq}" if self._last_seq else "the chain's start"
            self._problem(
                f"seq {seq}: prev_hash does not match the hash of {before} (deleted or reordered)"
            )
        keyed = self._key is not None and seq >= self._keyed_from
        if not keyed:
            self._unkeyed += 1
        if content_hash(row, self._key if keyed else None) != row["hash"]:
            self._problem_seqs += 1
            self._problem(
                f"seq {seq}: hash does not match its seal under the audit key (edited, moved "
                "or re-chained)"
                if keyed
                else f"seq {seq}: hash does not match its content (edited or moved)"
            )
        self._count += 1
        self._last_seq = seq
        self._last_hash = str(row["hash"])
        if self._checkpoint is not None and seq <= self._checkpoint.seq:
            self._upto_checkpoint += 1
            if seq == self._checkpoint.seq:
                self._at_checkpoint = self._last_hash

    def finish(self) -> VerifyResult:
        """The verdict, given the head and keying records the store kept."""
        self._check_head()
        self._check_keying()
        if self._checkpoint is not None:
            self._check_checkpoint(self._checkpoint)
        notes: list[str] = []
        if self._key is not None and self._unkeyed:
            notes.append(
                f"seqs 1-{min(self._keyed_from - 1, self._last_seq)} were written before the "
                "chain was keyed: checked as an unkeyed chain"
            )
        if self._key is not None and self._problem_seqs and self._problem_seqs == self._count:
            notes.append("no event carries this key's seal: is it the key that sealed the store?")
        return VerifyResult(
            ok=not self._problems,
            events=self._count,
            problems=tuple(self._problems),
            head=self._last_hash if self._count else "",
            seq=self._last_seq,
            keyed_from=self._keyed_from,
            notes=tuple(notes),
        )

    def _check_head(self) -> None:
        head = self._head
        if HEAD_TABLE in head.dropped:
            self._problem(
                "the chain head's table (audit_head) is missing (dropped outside Riposte)"
            )
            return
        if head.seq is None:
            self._problem("the chain head row is missing (deleted outside Riposte)")
            return
        if head.seq > self._last_seq:
            self._problem(
                f"seq {self._last_seq + 1}: missing; the chain head records {head.seq} events"
            )
        elif head.seq < self._last_seq:
            self._problem(
                f"seq {head.seq + 1}: events past the chain head (seq {head.seq}) were not "
                "appended by the store"
            )
        elif head.hash != self._last_hash:
            self._problem(f"seq {head.seq}: hash differs from the chain head's")
        elif (
            self._key is not None
            and head.keyed_from is not None  # else reported as a missing keying record
            and not head_sealed(head, self._key)  # whatever keyed_from claims: sealed with it
        ):
            self._problem(_unsealed(head))

    def _check_keying(self) -> None:
        if KEYING_TABLE in self._head.dropped:
            self._problem(
                "the store's keying table (audit_keying) is missing (dropped outside Riposte)"
            )
        elif self._head.keyed_from is None:
            self._problem("the store's keying record is missing (deleted outside Riposte)")

    def _check_checkpoint(self, checkpoint: Checkpoint) -> None:
        if self._key is None:
            self._problem("the checkpoint cannot be checked without the audit key")
        elif not signature_ok(checkpoint, self._key):
            self._problem(
                "the checkpoint's signature does not match the audit key (the checkpoint was "
                "altered, or signed with another key)"
            )
        if self._last_seq < checkpoint.seq:
            self._problem(
                f"the store is shorter than the checkpoint: it ends at seq {self._last_seq}, "
                f"the checkpoint was taken at seq {checkpoint.seq}"
            )
        elif self._at_checkpoint is None:
            self._problem(f"seq {checkpoint.seq}: the checkpoint's event is missing")
        elif not macs_equal(self._at_checkpoint, checkpoint.hash):
            self._problem(
                f"seq {checkpoint.seq}: hash differs from the checkpoint's (events up to it were "
                "edited, deleted, reordered or re-chained)"
            )
        if self._upto_checkpoint != checkpoint.count and self._last_seq >= checkpoint.seq:
            self._problem(
                f"{self._upto_checkpoint} events up to seq {checkpoint.seq}, the checkpoint "
                f"counted {checkpoint.count}"
            )
        if self._keyed_from > checkpoint.keyed_from:
            self._problem(
                f"the store says it is keyed from seq {self._keyed_from}, the checkpoint from "
                f"seq {checkpoint.keyed_from} (unkeyed events claimed outside Riposte)"
            )


def _unsealed(head: Head) -> str:
    """Why a head that matches its events lacks the key's seal, in words."""
    where = f"the chain head (seq {head.seq}) does not carry the audit key's seal"
    if head.mac == AWAITING_SEAL:
        return (
            f"{where}: it awaits the seal of its upgrade, which an opener holding the key and "
            "allowed to write audit_head gives (or the mark was put there outside Riposte)"
        )
    if not head.mac:
        return (
            f"{where}: keyed_from or the head set outside Riposte (or the chain head carried no "
            "valid seal before an append, which left it unsealed)"
        )
    return f"{where}: moved back (a truncated chain), or keyed_from or the head set outside Riposte"
