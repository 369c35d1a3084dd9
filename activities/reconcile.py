"""The reconciler: find the shared blocks no live response holds, revert them, audit `reconciled`.

A response that is terminated from outside, or whose history is lost, never runs its revert, so
its NSG rules (and named-location ranges) would stay forever. The reconciler compares three
things: the holders ledger (`riposte.holders`), Temporal (is each holder's response still
running?), and the tenant (which `riposte-` rules each managed NSG carries). Then:

- a holder whose response is not running is released, audited `reconciled` under its response;
  when it was the last holder the rule is deleted, and that is audited too;
- a block left RELEASING by a revert that never finished (its response gone) is deleted;
- a `riposte-` rule the ledger does not know (made before the ledger, or the ledger restored
  from an older backup) is deleted when the response its description names is not running;
  one whose maker cannot be told is left for an operator.

Holders whose response id is `cli` (`riposte act`, an admin's own change with no workflow) are
left alone: an admin reverts them with `riposte act --revert-from`.

`dry_run` reports the same findings and changes nothing. Every step is idempotent, so the
worker's Schedule, the CLI and a retried activity can all run it.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.network import block_key
from activities.nsg_access import NsgAccess
from riposte.actions.payloads import NsgRuleRef
from riposte.audit.events import ENGINE, AuditKind, AuditRecord
from riposte.audit.store import AuditStore
from riposte.failures import misconfigured
from riposte.holders.ledger import Ledger
from riposte.holders.models import BlockKey, BlockKind, BlockState, Holder, SharedBlock
from riposte.holders.report import (
    RECONCILE_BLOCKS,
    Finding,
    FindingKind,
    ReconcileReport,
    ReconcileRequest,
)
from riposte.settings import TenantSettings

MANUAL_RESPONSE = "cli"  # `riposte act`'s default response id: an admin's change, not a workflow
# Who made a rule the ledger does not know, from its description: "Riposte block_ports for
# RESPONSE (ACTION)" (the blocks) or "Riposte pattern of life for IP (RESPONSE)".
_MADE_BY = (
    re.compile(r"^Riposte (?:block_ports|block_outbound) for (\S+) \("),
    re.compile(r"^Riposte pattern of life for \S+ \((\S+)\)"),
)


class RangeRemover(Protocol):
    """The named-location seam (activities/sign_in_block.py): remove one range Riposte added."""

    async def remove_range(self, cidr: str) -> bool: ...


Liveness = Callable[[str], Awaitable[str | None]]
"""The status of a response that is not running ("terminated", "not found"), None if it runs."""


def temporal_liveness(client: Client) -> Liveness:
    async def status(response_id: str) -> str | None:
        try:
            described = await client.get_workflow_handle(response_id).describe()
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                return "not found (its history is gone)"
            raise
        if described.status is WorkflowExecutionStatus.RUNNING:
            return None
        return (described.status.name if described.status else "closed").lower()

    return status


class Reconciler:
    def __init__(
        self,
        liveness: Liveness,
        nsgs: NsgAccess,
        tenant: TenantSettings,
        ledger: Ledger,
        store: AuditStore,
        ranges: RangeRemover | None = None,
    ) -> None:
        self._ranges = ranges
        self._liveness = liveness
        self._nsgs = nsgs
        self._tenant = tenant
        self._ledger = ledger
        self._store = store

    async def run(self, request: ReconcileRequest) -> ReconcileReport:
        self._dry = request.dry_run
        self._known: dict[str, str | None] = {}
        findings: list[Finding] = []
        live = 0
        blocks = await asyncio.to_thread(self._ledger.blocks)
        for block in blocks:
            found = await self._block(block)
            findings += found
            live += not found
        findings += await self._unrecorded(
            {b.key.id for b in blocks if b.key.kind is BlockKind.NSG_RULE}
        )
        return ReconcileReport(dry_run=self._dry, findings=tuple(findings), live_blocks=live)

    async def _gone(self, response_id: str) -> str | None:
        if response_id == MANUAL_RESPONSE:
            return None
        if response_id not in self._known:
            self._known[response_id] = await self._liveness(response_id)
        return self._known[response_id]

    async def _block(self, block: SharedBlock) -> list[Finding]:
        key = block.key
        if block.state is BlockState.RELEASING:
            last = block.last_holder
            why = await self._gone(last.response_id) if last else "unknown"
            if why is None:
                return []  # its last holder is removing it right now
            owner = last or Holder(response_id="", action_id="")
            return [await self._delete(key, f"its last holder's response is {why}", owner)]
        findings: list[Finding] = []
        remaining = list(block.holders)
        for holder in block.holders:
            why = await self._gone(holder.response_id)
            if why is None:
                continue
            remaining.remove(holder)
            was_last = not remaining
            if not self._dry:  # the ledger decides: a live holder may have joined meanwhile
                released = await asyncio.to_thread(self._ledger.release, key, holder)
                was_last = released.last
            if was_last:
                reason = f"response {holder.response_id} is {why}"
                findings.append(await self._delete(key, reason, holder))
                continue
            detail = (
                f"response {holder.response_id} is {why}: released its hold on {_what(key)}; "
                "live holders keep it"
            )
            findings.append(_finding(FindingKind.RELEASED_HOLD, key, holder, detail))
            if not self._dry:
                await self._audit(findings[-1])
        return findings

    async def _delete(self, key: BlockKey, reason: str, holder: Holder) -> Finding:
        """Remove a block nobody live holds (the ledger shows it RELEASING, or never knew it)
        from the tenant, audit it, and forget it."""
        verb = "would remove" if self._dry else "removed"
        detail = f"{verb} {_what(key)}: no live response holds it ({reason})"
        kind = (
            FindingKind.DELETED_RULE
            if key.kind is BlockKind.NSG_RULE
            else FindingKind.REMOVED_RANGE
        )
        finding = _finding(kind, key, holder, detail)
        if not self._dry:
            if key.kind is BlockKind.NSG_RULE:
                await self._nsgs.delete_rule(_ref(key))
            elif self._ranges is not None:
                await self._ranges.remove_range(key.item)
            else:
                raise misconfigured(f"no way to remove {_what(key)}: no named-location seam")
            await self._audit(finding)
            await asyncio.to_thread(self._ledger.forget, key)
        return finding

    async def _unrecorded(self, recorded: set[str]) -> list[Finding]:
        """Riposte's rules on the managed NSGs that the ledger does not know."""
        findings = []
        for binding in self._tenant.nsgs:
            state, _ = await self._nsgs.read(binding)
            for name, description in sorted(state.descriptions.items()):
                ref = NsgRuleRef(resource_group=binding.resource_group, nsg=binding.name, rule=name)
                if block_key(ref).id in recorded:
                    continue
                response_id = _made_by(description)
                if not response_id:
                    continue  # whose it is cannot be told: left for an operator
                why = await self._gone(response_id)
                if why is None:
                    continue
                reason = f"response {response_id} is {why}"
                owner = Holder(response_id=response_id, action_id="")
                findings.append(await self._delete(block_key(ref), reason, owner))
        return findings

    async def _audit(self, finding: Finding) -> None:
        action_id = finding.action_id
        digest = hashlib.sha256(finding.detail.encode()).hexdigest()[:12]
        where = f"{finding.scope}/{finding.item}/{action_id or '-'}"
        record = AuditRecord(
            id=f"reconciled/{where}/{finding.kind}/{digest}",
            time=datetime.now(UTC),
            kind=AuditKind.RECONCILED,
            response_id=finding.response_id,
            action_id=action_id,
            target=finding.item,
            actor=ENGINE,
            detail=finding.detail,
        )
        await asyncio.to_thread(self._store.append, [record])


class ReconcileActivities:
    """The reconciler as the activity the worker's Schedule runs."""

    def __init__(self, reconciler: Reconciler) -> None:
        self._reconciler = reconciler

    @RECONCILE_BLOCKS.defn
    async def reconcile_blocks(self, request: ReconcileRequest) -> ReconcileReport:
        return await self._reconciler.run(request)


def _finding(kind: FindingKind, key: BlockKey, holder: Holder, detail: str) -> Finding:
    return Finding(
        kind=kind,
        block=key.kind,
        scope=key.scope,
        item=key.item,
        response_id=holder.response_id,
        action_id=holder.action_id,
        detail=detail,
    )


def _what(key: BlockKey) -> str:
    if key.kind is BlockKind.NSG_RULE:
        _, _, nsg = key.scope.partition("/")
        return f"rule {key.item} on {nsg}"
    return f"range {key.item} of '{key.scope}'"


def _made_by(description: str) -> str:
    for pattern in _MADE_BY:
        match = pattern.match(description)
        if match:
            return match.group(1)
    return ""


def _ref(key: BlockKey) -> NsgRuleRef:
    group, _, nsg = key.scope.partition("/")
    return NsgRuleRef(resource_group=group, nsg=nsg, rule=key.item)
