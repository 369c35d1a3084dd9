"""The holders ledger on SQLite and PostgreSQL: many holders, exactly one last release."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from riposte.holders.ledger import Ledger
from riposte.holders.models import BlockKey, BlockKind, BlockReleasing, BlockState, Holder

RULE = BlockKey(kind=BlockKind.NSG_RULE, scope="rg-core/nsg-vpn", item="riposte-0123456789abcdef")
FIRST = Holder(response_id="darktrace:dt-1", action_id="darktrace:dt-1:a2")
SECOND = Holder(response_id="darktrace:dt-2", action_id="darktrace:dt-2:a2")


@pytest.fixture
def ledger(audit_url: str) -> Iterator[Ledger]:
    opened = Ledger(audit_url)
    yield opened
    opened.close()


def test_two_holders_share_a_block_until_the_last_releases(ledger: Ledger) -> None:
    """The first hold opens the block, the second joins, and only the later release is last."""
    assert ledger.hold(RULE, FIRST).first
    joined = ledger.hold(RULE, SECOND)
    assert not joined.first and joined.others == (FIRST,)

    early = ledger.release(RULE, FIRST)
    assert not early.last and early.remaining == (SECOND,)
    late = ledger.release(RULE, SECOND)
    assert late.last and late.remaining == ()
    (block,) = ledger.blocks()
    assert (block.state, block.holders, block.last_holder) == (BlockState.RELEASING, (), SECOND)
    ledger.forget(RULE)
    assert ledger.blocks() == []


def test_retried_holds_and_releases_answer_the_same(ledger: Ledger) -> None:
    """Holding twice is one hold; a retried release repeats its first answer."""
    ledger.hold(RULE, FIRST)
    again = ledger.hold(RULE, FIRST)
    assert again.first and again.others == ()
    assert ledger.release(RULE, FIRST).last
    retried = ledger.release(RULE, FIRST)
    assert retried.last and retried.repeated


def test_a_hold_waits_while_the_last_holder_removes_the_block(ledger: Ledger) -> None:
    """Nobody joins a rule that is being deleted; once forgotten, a new hold opens it again."""
    ledger.hold(RULE, FIRST)
    ledger.release(RULE, FIRST)
    with pytest.raises(BlockReleasing):
        ledger.hold(RULE, SECOND)
    ledger.forget(RULE)
    assert ledger.hold(RULE, SECOND).first


def test_releasing_a_block_nobody_recorded_is_last(ledger: Ledger) -> None:
    """A rule made before the ledger existed is removed by the one response that made it."""
    assert ledger.release(RULE, FIRST).last
    assert ledger.blocks() == []


async def test_concurrent_releases_have_exactly_one_last(audit_url: str) -> None:
    """Ten holders released at once, each on its own connection: exactly one is told it is last."""
    holders = [Holder(response_id=f"r{n}", action_id=f"r{n}:a1") for n in range(10)]
    ledgers = [Ledger(audit_url) for _ in holders]
    try:
        for holder in holders:
            ledgers[0].hold(RULE, holder)
        outcomes = await asyncio.gather(
            *(
                asyncio.to_thread(ledger.release, RULE, holder)
                for ledger, holder in zip(ledgers, holders, strict=True)
            )
        )
    finally:
        for ledger in ledgers:
            ledger.close()
    assert sum(outcome.last for outcome in outcomes) == 1
