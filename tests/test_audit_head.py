"""The chain head's seal: given when the migrations first key the chain, carried forward by
appends only from a sealed head, checked by verify whatever the store claims, on both backends."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from riposte.audit import chain
from riposte.audit.checkpoint import Checkpoint, sign
from riposte.audit.events import AuditEvent, VerifyResult
from riposte.audit.key import AuditKey
from riposte.audit.schema import Backend, migrations
from riposte.audit.store import open_store
from riposte.cli import run
from tests.plugins.audit import READ_ONLY, TEST_KEY, login_role, records
from tests.test_audit_verify import tampered

SQLITE_PREFIX = "sqlite:///"
NO_VALID_SEAL = (
    "does not carry the audit key's seal: keyed_from or the head set outside Riposte (or the "
    "chain head carried no valid seal before an append, which left it unsealed)"
)


def head_row(url: str) -> tuple[int, str, str]:
    """The stored chain head: seq, hash and mac."""
    query = "SELECT seq, hash, mac FROM audit_head"
    if url.startswith(SQLITE_PREFIX):
        with sqlite3.connect(url.removeprefix(SQLITE_PREFIX)) as raw:
            row = raw.execute(query).fetchone()
    else:
        with psycopg.connect(url) as conn:
            row = conn.execute(query).fetchone()
    assert row is not None
    return int(str(row[0])), str(row[1]), str(row[2])


def verified(url: str, key: AuditKey | None = TEST_KEY) -> VerifyResult:
    store = open_store(url, key)
    try:
        return store.verify()
    finally:
        store.close()


def keyed_store(url: str, count: int) -> list[AuditEvent]:
    store = open_store(url, TEST_KEY)
    try:
        return store.append(records(count))
    finally:
        store.close()


def as_migrated_by_an_earlier_riposte(url: str, tmp_path: Path, mac: str = "") -> str:
    """The store as a Riposte without migration 0006 left it: no version 6, the head's mac
    `mac` ('' if nothing was appended after 0002)."""
    return tampered(
        url,
        tmp_path,
        "DELETE FROM schema_version WHERE version = 6",
        f"UPDATE audit_head SET mac = '{mac}'",
    )


def test_a_new_store_opened_with_the_key_has_a_sealed_head(audit_url: str) -> None:
    """Creating a store with the key seals its empty head at once (in the migration's
    transaction), over keyed_from 1."""
    open_store(audit_url, TEST_KEY).close()
    assert head_row(audit_url) == (
        0,
        chain.GENESIS_HASH,
        chain.head_mac(0, chain.GENESIS_HASH, 1, TEST_KEY),
    )
    assert verified(audit_url).ok


def test_a_store_first_opened_without_the_key_is_sealed_by_the_first_opener_with_it(
    audit_url: str,
) -> None:
    """A keyless opener (the holders ledger, `riposte incidents`) that creates the store leaves
    its head awaiting the seal; the first opener with the key gives it, so the chain verifies."""
    open_store(audit_url).close()
    assert head_row(audit_url)[2] == chain.AWAITING_SEAL
    keyed_store(audit_url, 3)
    result = verified(audit_url)
    assert (result.ok, result.events, result.notes) == (True, 3, ())


def test_a_store_keyed_by_an_earlier_riposte_is_sealed_at_upgrade(
    audit_url: str, tmp_path: Path
) -> None:
    """An earlier Riposte applied 0002 and appended nothing since (head mac ''): opening it with
    the key applies 0006, which seals the head, and keyed appends then verify."""
    open_store(audit_url, TEST_KEY).close()
    earlier = as_migrated_by_an_earlier_riposte(audit_url, tmp_path)
    assert head_row(earlier)[2] == ""
    keyed_store(earlier, 2)
    assert verified(earlier).ok


def test_an_earlier_sealed_head_is_kept_as_it_is(audit_url: str, tmp_path: Path) -> None:
    """A store that an earlier Riposte appended to with the key already carries its seal; the
    upgrade leaves it alone and the chain keeps verifying."""
    events = keyed_store(audit_url, 3)
    seal = chain.head_mac(3, events[-1].hash, 1, TEST_KEY)
    earlier = as_migrated_by_an_earlier_riposte(audit_url, tmp_path, seal)
    assert verified(earlier).ok
    assert head_row(earlier)[2] == seal


def test_the_upgrade_does_not_seal_a_head_past_keyed_events(audit_url: str, tmp_path: Path) -> None:
    """An unsealed head with keyed events before it is not the shape an upgrade finds: the
    upgrade leaves it unsealed and verify reports it."""
    keyed_store(audit_url, 3)
    earlier = as_migrated_by_an_earlier_riposte(audit_url, tmp_path)
    result = verified(earlier)
    assert result.problems == (f"the chain head (seq 3) {NO_VALID_SEAL}",)
    assert head_row(earlier)[2] == ""


def test_an_append_does_not_seal_over_a_wrong_seal(audit_url: str, tmp_path: Path) -> None:
    """After the head's seal was overwritten, appends still record their events but leave the
    head unsealed: the tampering stays visible."""
    keyed_store(audit_url, 3)
    url = tampered(audit_url, tmp_path, f"UPDATE audit_head SET mac = '{'f' * 64}'")
    before = verified(url)
    assert before.problems == (
        "the chain head (seq 3) does not carry the audit key's seal: moved back (a truncated "
        "chain), or keyed_from or the head set outside Riposte",
    )
    store = open_store(url, TEST_KEY)
    try:
        assert [e.seq for e in store.append(records(2, start=10))] == [4, 5]
    finally:
        store.close()
    assert head_row(url)[2] == ""
    after = verified(url)
    assert (after.events, after.problems) == (5, (f"the chain head (seq 5) {NO_VALID_SEAL}",))


def test_a_head_mac_that_is_not_ascii_is_answered_in_words(audit_url: str, tmp_path: Path) -> None:
    """A head mac set to non-ASCII text is a broken seal in words, not a TypeError."""
    keyed_store(audit_url, 2)
    url = tampered(audit_url, tmp_path, "UPDATE audit_head SET mac = 'é'")
    result = verified(url)
    assert not result.ok
    assert result.problems[0].startswith("the chain head (seq 2) does not carry the audit key's")


def test_hashes_and_signatures_that_are_not_ascii_are_answered_in_words(
    audit_url: str, tmp_path: Path
) -> None:
    """A stored hash, or a checkpoint's hash or signature, in non-ASCII text fails verify in
    words instead of raising."""
    events = keyed_store(audit_url, 3)
    checkpoint = sign(
        Checkpoint(seq=3, hash=events[-1].hash, count=3, time=events[-1].time), TEST_KEY
    )
    store = open_store(audit_url, TEST_KEY)
    try:
        assert store.verify(checkpoint).ok
        foreign = checkpoint.model_copy(update={"signature": "hmac-sha256:é"})
        assert store.verify(foreign).problems == (
            "the checkpoint's signature does not match the audit key (the checkpoint was "
            "altered, or signed with another key)",
        )
    finally:
        store.close()
    url = tampered(
        audit_url,
        tmp_path,
        "UPDATE audit_events SET hash = 'é' WHERE seq = 3",
        "UPDATE audit_head SET hash = 'é'",
    )
    store = open_store(url, TEST_KEY)
    try:
        result = store.verify(checkpoint)
    finally:
        store.close()
    assert (
        "seq 3: hash does not match its seal under the audit key (edited, moved or re-chained)"
        in result.problems
    )
    assert (
        "seq 3: hash differs from the checkpoint's (events up to it were edited, deleted, "
        "reordered or re-chained)" in result.problems
    )


def test_a_checkpoint_file_with_a_non_ascii_signature_fails_verify_in_words(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    keyed_env: AuditKey,
) -> None:
    """`audit verify --checkpoint FILE` with a signature in non-ASCII text exits 1 in words."""
    monkeypatch.delenv("RIPOSTE_AUDIT_URL", raising=False)
    events = keyed_store(f"sqlite:///{tmp_path / 'audit.db'}", 2)
    checkpoint = Checkpoint(seq=2, hash=events[-1].hash, count=2, time=events[-1].time)
    saved = tmp_path / "checkpoint.json"
    saved.write_text(
        checkpoint.model_copy(update={"signature": "hmac-sha256:ünï"}).model_dump_json()
    )
    assert run(["audit", "verify", "--data-dir", str(tmp_path), "--checkpoint", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "does NOT verify" in out and "signature does not match the audit key" in out


def test_both_backends_mark_a_head_awaiting_its_seal_as_the_chain_expects() -> None:
    """Migration 0006 writes the very mark the chain check and the openers look for."""
    for backend in Backend:
        (seal,) = [m for m in migrations(backend) if m.version == 6]
        assert f"SET mac = '{chain.AWAITING_SEAL}'" in seal.sql


@pytest.fixture
def auditor_url(postgres_url: str) -> Iterator[str]:
    """A migrated store left awaiting its seal (created without the key), and the URL of a role
    that may only read it; the role is dropped after the test."""
    open_store(postgres_url).close()
    with login_role(postgres_url, READ_ONLY) as url:
        yield url


def test_a_read_only_role_with_the_key_is_told_the_head_awaits_its_seal(
    auditor_url: str,
) -> None:
    """An auditor role cannot give the upgrade seal: the store still opens for it, and verify
    says the head awaits its seal rather than failing to open."""
    assert verified(auditor_url).problems == (
        "the chain head (seq 0) does not carry the audit key's seal: it awaits the seal of its "
        "upgrade, which an opener holding the key and allowed to write audit_head gives (or the "
        "mark was put there outside Riposte)",
    )
    assert head_row(auditor_url)[2] == chain.AWAITING_SEAL
