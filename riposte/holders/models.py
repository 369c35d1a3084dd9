"""Shared blocks and their holders, as values: what is held, by whom, and what a hold or a release
found."""

from __future__ import annotations

from enum import StrEnum

from riposte.errors import RiposteError
from riposte.model import Frozen


class BlockKind(StrEnum):
    NSG_RULE = "nsg_rule"
    NAMED_LOCATION_RANGE = "named_location_range"


class BlockState(StrEnum):
    HELD = "held"
    RELEASING = "releasing"  # its last holder let go and is removing it from the tenant


class BlockKey(Frozen):
    """One shared thing in the tenant: an NSG rule ("rg/nsg", rule name) or a named-location
    range (the named location, a CIDR)."""

    kind: BlockKind
    scope: str
    item: str

    @property
    def id(self) -> str:
        return f"{self.kind.value}:{self.scope}/{self.item}"


class Holder(Frozen):
    """One action of one response that holds a block."""

    response_id: str
    action_id: str


class HoldOutcome(Frozen):
    """What `hold` found: whether this holder opened the block, and who else holds it."""

    first: bool
    others: tuple[Holder, ...] = ()


class ReleaseOutcome(Frozen):
    """What `release` found: `last` means nobody holds the block now, so the caller removes it
    from the tenant and then calls `forget`; otherwise `remaining` still hold it."""

    last: bool
    remaining: tuple[Holder, ...] = ()
    repeated: bool = False  # this holder had already released it (a retried revert)


class SharedBlock(Frozen):
    """A block as the ledger holds it, with its current holders."""

    key: BlockKey
    state: BlockState
    holders: tuple[Holder, ...] = ()
    last_holder: Holder | None = None  # the holder whose release started RELEASING


class BlockReleasing(RiposteError):
    """A hold arrived while the last holder is removing the block: try again shortly."""

    def __init__(self, key: BlockKey) -> None:
        super().__init__(f"{key.item} is being removed by its last holder; holding it again soon")
        self.key = key


def describe_holders(holders: tuple[Holder, ...]) -> str:
    """ "1 other response (darktrace:dt-2)", for summaries."""
    ids = sorted({h.response_id for h in holders})
    noun = "response" if len(ids) == 1 else "responses"
    return f"{len(ids)} other {noun} ({', '.join(ids)})"
