"""Someone who can write the database but lacks the key: the issue's tamperings are all found.

Each tampering is done as an intruder would, with the store's triggers out of the way and the
chain recomputed where that helps them (they have no key, so only unkeyed SHA-256). Verify runs
with the key, with and without a checkpoint taken before the tampering, on both backends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from riposte.audit import chain
from riposte.audit.checkpoint import Checkpoint, sign
from riposte.audit.events import AuditEvent, AuditFilter, VerifyResult
from riposte.audit.key import AuditKey
from riposte.audit.store import open_store
from tests.plugins.audit import TEST_KEY, records
from tests.test_audit_verify import tampered

Tamper = Callable[[list[AuditEvent]], list[str]]


def _rechained(events: list[AuditEvent]) -> list[str]:
    """Statements that rewrite events 1..n as given, re-chained without the key, head moved."""
    statements = ["DELETE FROM audit_events"]
    prev = chain.GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        draft = event.model_copy(update={"seq": seq, "prev_hash": prev})
        row = chain.row_of(draft)
        row["hash"] = prev = chain.content_hash(row)  # no key: plain SHA-256
        values = ", ".join(_sql(row[c]) for c in chain.COLUMNS)
        statements.append(
            f"INSERT INTO audit_events ({', '.join(chain.COLUMNS)}) VALUES ({values})"
        )
    statements.append(f"UPDATE audit_head SET seq = {len(events)}, hash = '{prev}'")
    return statements


def _sql(value: str | int) -> str:
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


def delete_tail_and_update_head(events: list[AuditEvent]) -> list[str]:
    last = events[3]
    return [
        "DELETE FROM audit_events WHERE seq > 4",
        f"UPDATE audit_head SET seq = 4, hash = '{last.hash}'",
    ]


def edit_and_rechain(events: list[AuditEvent]) -> list[str]:
    edited = events[1].model_copy(update={"detail": "nothing happened"})
    return _rechained([events[0], edited, *events[2:]])


def delete_and_renumber(events: list[AuditEvent]) -> list[str]:
    return _rechained([e for e in events if e.seq != 3])


def truncate_and_reset_head(_: list[AuditEvent]) -> list[str]:
    return ["DELETE FROM audit_events", f"UPDATE audit_head SET seq = 0, hash = '{'0' * 64}'"]


def downgrade_to_unkeyed(events: list[AuditEvent]) -> list[str]:
    """Every event re-chained without the key, keyed_from just past the end, the head's seal
    cleared: the store claims it was never keyed."""
    return [
        *_rechained(events),
        f"UPDATE audit_keying SET keyed_from = {len(events) + 1}",
        "UPDATE audit_head SET mac = ''",
    ]


def downgrade_past_the_end(events: list[AuditEvent]) -> list[str]:
    """The same downgrade with keyed_from far past the end and the old head seal left in place."""
    return [*_rechained(events), "UPDATE audit_keying SET keyed_from = 1000"]


def verify_tampered(
    url: str, tmp_path: Path, statements: list[str], checkpoint: Checkpoint | None = None
) -> VerifyResult:
    """Verify, with the key, a copy of the store at `url` after the intruder's `statements`."""
    store = open_store(tampered(url, tmp_path, *statements), TEST_KEY)
    try:
        return store.verify(checkpoint)
    finally:
        store.close()


LEAVING_EVENTS = [
    delete_tail_and_update_head,
    edit_and_rechain,
    delete_and_renumber,
    downgrade_to_unkeyed,
    downgrade_past_the_end,
]
TAMPERINGS = [*LEAVING_EVENTS, truncate_and_reset_head]


@pytest.fixture
def six(audit_url: str) -> tuple[str, list[AuditEvent], Checkpoint]:
    """A keyed store of six events and a checkpoint taken at its head."""
    store = open_store(audit_url, TEST_KEY)
    try:
        events = store.append(records(6))
        result = store.verify()
    finally:
        store.close()
    assert result.ok, result.problems
    head = Checkpoint(seq=result.seq, hash=result.head, count=result.events, time=events[-1].time)
    return audit_url, events, sign(head, TEST_KEY)


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda t: t.__name__)
def test_each_tampering_fails_verify_against_a_checkpoint(
    six: tuple[str, list[AuditEvent], Checkpoint], tmp_path: Path, tamper: Tamper
) -> None:
    """With a checkpoint, every one of the tamperings makes verify fail."""
    url, events, checkpoint = six
    result = verify_tampered(url, tmp_path, tamper(events), checkpoint)
    assert not result.ok
    assert any("checkpoint" in p or "seal" in p for p in result.problems), result.problems


@pytest.mark.parametrize("tamper", LEAVING_EVENTS, ids=lambda t: t.__name__)
def test_tamperings_that_leave_events_fail_even_without_a_checkpoint(
    six: tuple[str, list[AuditEvent], Checkpoint], tmp_path: Path, tamper: Tamper
) -> None:
    """Without the key, a re-chained edit, a renumbering, a head moved back or a downgrade to
    an unkeyed chain lacks the seal."""
    url, events, _ = six
    result = verify_tampered(url, tmp_path, tamper(events))
    assert not result.ok
    assert any("seal" in p for p in result.problems), result.problems


@pytest.mark.parametrize(
    "tamper", [downgrade_to_unkeyed, downgrade_past_the_end], ids=lambda t: t.__name__
)
def test_a_downgrade_is_named_an_unsealed_head(
    six: tuple[str, list[AuditEvent], Checkpoint], tmp_path: Path, tamper: Tamper
) -> None:
    """A store re-chained without the key under a keyed_from moved past its end has events that
    all check as unkeyed; its head lacks the seal that attests keyed_from, and verify says so."""
    url, events, _ = six
    result = verify_tampered(url, tmp_path, tamper(events))
    assert not result.ok
    (problem,) = result.problems
    assert problem.startswith("the chain head (seq 6) does not carry the audit key's seal: ")
    assert "keyed_from or the head set outside Riposte" in problem
    assert result.notes[0].startswith("seqs 1-6 were written before the chain was keyed")


def test_an_append_after_a_downgrade_does_not_seal_it(
    six: tuple[str, list[AuditEvent], Checkpoint], tmp_path: Path
) -> None:
    """The next append (with the key) records its events but leaves the head unsealed, so the
    downgrade stays reported instead of being sealed over."""
    url, events, _ = six
    store = open_store(tampered(url, tmp_path, *downgrade_to_unkeyed(events)), TEST_KEY)
    try:
        appended = store.append(records(2, start=20))
        result = store.verify()
    finally:
        store.close()
    assert [e.seq for e in appended] == [7, 8]
    assert (result.ok, result.events) == (False, 8)
    assert result.problems == (
        "the chain head (seq 8) does not carry the audit key's seal: keyed_from or the head set "
        "outside Riposte (or the chain head carried no valid seal before an append, which left "
        "it unsealed)",
    )


def test_a_downgrade_marked_as_awaiting_its_seal_is_caught_by_a_checkpoint(
    six: tuple[str, list[AuditEvent], Checkpoint], tmp_path: Path
) -> None:
    """An intruder who marks a downgraded head as awaiting its upgrade seal gets it sealed by the
    next opener with the key (migration 0006's one-time trust); a checkpoint still catches it."""
    url, events, checkpoint = six
    marked = [*downgrade_to_unkeyed(events), f"UPDATE audit_head SET mac = '{chain.AWAITING_SEAL}'"]
    result = verify_tampered(url, tmp_path, marked, checkpoint)
    assert not result.ok
    assert result.problems[-1] == (
        "the store says it is keyed from seq 7, the checkpoint from seq 1 (unkeyed events claimed "
        "outside Riposte)"
    )


def test_a_truncated_store_is_named_shorter_than_the_checkpoint(
    six: tuple[str, list[AuditEvent], Checkpoint], tmp_path: Path
) -> None:
    """Emptying the store and resetting its head is reported as shorter than the checkpoint,
    even by an intruder who kept an empty store's head seal (the same for every store under the
    key, so only a checkpoint tells this one from a new store)."""
    url, events, checkpoint = six
    empty_seal = chain.head_mac(0, chain.GENESIS_HASH, 1, TEST_KEY)
    statements = [*truncate_and_reset_head(events), f"UPDATE audit_head SET mac = '{empty_seal}'"]
    result = verify_tampered(url, tmp_path, statements, checkpoint)
    assert result.problems == (
        "the store is shorter than the checkpoint: it ends at seq 0, the checkpoint was taken "
        "at seq 6",
    )


def test_a_forged_checkpoint_is_refused(six: tuple[str, list[AuditEvent], Checkpoint]) -> None:
    """A checkpoint edited, or signed with another key, does not vouch for anything."""
    url, _, checkpoint = six
    forged = checkpoint.model_copy(update={"count": 5})
    other = sign(checkpoint, AuditKey(b"another key"))
    store = open_store(url, TEST_KEY)
    try:
        for bad in (forged, other):
            result = store.verify(bad)
            assert not result.ok
            assert "signature does not match" in result.problems[0]
        assert store.verify(checkpoint).ok
    finally:
        store.close()


def test_deleting_the_head_row_is_answered_in_words(
    six: tuple[str, list[AuditEvent], Checkpoint], tmp_path: Path
) -> None:
    """A store whose chain head row was deleted fails verify with a sentence, not a traceback."""
    url, _, _ = six
    result = verify_tampered(url, tmp_path, ["DELETE FROM audit_head"])
    assert result.problems == ("the chain head row is missing (deleted outside Riposte)",)


def test_another_key_does_not_verify_the_chain(
    six: tuple[str, list[AuditEvent], Checkpoint],
) -> None:
    """Verifying under a key other than the one that sealed the store fails and says so."""
    url, _, _ = six
    store = open_store(url, AuditKey(b"another key"))
    try:
        result = store.verify()
    finally:
        store.close()
    assert not result.ok
    assert any("is it the key that sealed the store" in note for note in result.notes)
    assert len(store_events(url)) == 6


def store_events(url: str) -> list[AuditEvent]:
    store = open_store(url)
    try:
        return store.query(AuditFilter())
    finally:
        store.close()
