"""What a reconciler pass is asked and what it found (see activities/reconcile.py)."""

from __future__ import annotations

from enum import StrEnum

from riposte.activity_refs import ActivityRef
from riposte.holders.models import BlockKind
from riposte.model import Frozen


class ReconcileRequest(Frozen):
    dry_run: bool = False


class FindingKind(StrEnum):
    RELEASED_HOLD = "released_hold"  # a gone response's hold let go; others still hold the block
    DELETED_RULE = "deleted_rule"  # nobody live held it: removed from the NSG
    REMOVED_RANGE = "removed_range"  # nobody live held it: removed from the named location


class Finding(Frozen):
    kind: FindingKind
    block: BlockKind
    scope: str  # "rg/nsg", or the named location
    item: str  # the rule name, or the CIDR range
    response_id: str
    action_id: str = ""
    detail: str


class ReconcileReport(Frozen):
    dry_run: bool
    findings: tuple[Finding, ...] = ()
    live_blocks: int = 0  # blocks every holder of which is still running


RECONCILE_BLOCKS = ActivityRef("reconcile_blocks", ReconcileRequest, ReconcileReport)
