"""Azure network actions: NSG deny rules for an attacker's ports or a device's outbound traffic.

`block_ports` and `block_outbound` put one Deny security rule on each applicable NSG (see
`riposte.actions.firewall`); `unblock` lets go of what an action recorded. A rule is shared: its
name derives from the NSG, the address and the ports, and the holders ledger
(`riposte.holders`) records every response holding it, so two responses blocking the same thing
get one rule, and only the last holder's revert deletes it.

For each rule, in this order (retry-safe at every step):
1. the address is normalised (`riposte.domain.addresses`), refused before any call if it must be;
2. the response holds the block in the ledger (a no-op when it already does);
3. the NSG is read; flushConnection is turned on if it is off, so the deny cuts live sessions;
4. a rule of that name already there is the shared rule (or an earlier attempt's): it is kept,
   after checking that no Allow rule now comes before it;
5. else a priority is chosen in the NSG's band (`riposte.domain.nsg_band`); an Allow rule that
   matches the device before it, or a full band, fails the action (non-retryable, naming it).
   When another writer takes the chosen priority first (`SecurityRuleConflict`), it looks again.

A permanent failure lets go of every hold this action took, so nothing is left half-applied.
"""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import timedelta

from azure.mgmt.network.aio import NetworkManagementClient
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.nsg_access import NsgAccess, rule_path
from activities.outcome import outcome
from riposte.actions import firewall, validation
from riposte.actions.catalogue import BLOCK_OUTBOUND, BLOCK_PORTS, CATALOGUE, UNBLOCK
from riposte.actions.firewall import DenyRule
from riposte.actions.payloads import (
    ActionInput,
    ActionName,
    ActionResult,
    NsgRuleRef,
    RevertInput,
    RevertState,
)
from riposte.domain.addresses import Address, AddressRefused, normalise_address
from riposte.domain.nsg_band import (
    BandFull,
    BandViolation,
    RuleView,
    choose_priority,
    still_holds,
)
from riposte.failures import FailureType, misconfigured, refuse
from riposte.holders.ledger import Ledger
from riposte.holders.models import BlockKey, BlockKind, BlockReleasing, Holder, describe_holders
from riposte.model import Frozen
from riposte.settings import TenantSettings

CONFLICT_ATTEMPTS = 5
RELEASING_RETRY = timedelta(seconds=2)


class Placement(Frozen):
    """What happened (or would happen) to one deny rule on one NSG."""

    ref: NsgRuleRef
    summary: str
    call: str | None = None
    changed: bool = False


def block_key(ref: NsgRuleRef) -> BlockKey:
    return BlockKey(kind=BlockKind.NSG_RULE, scope=f"{ref.resource_group}/{ref.nsg}", item=ref.rule)


class NetworkActivities:
    """block_ports, block_outbound and unblock, on one azure-mgmt-network client and the ledger."""

    def __init__(
        self, network: NetworkManagementClient, tenant: TenantSettings, ledger: Ledger | None
    ) -> None:
        self.nsgs = NsgAccess(network)
        self.tenant = tenant
        self._ledger = ledger

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            raise misconfigured("the network actions need the holders ledger (the audit store)")
        return self._ledger

    @BLOCK_PORTS.act.defn
    async def block_ports(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.BLOCK_PORTS, request.action)
        source = self._address(request.target)
        ports = validation.ports(request.params)
        rules = firewall.plan(request.action, source, self.tenant, ports=ports)
        return await self._block(request, rules, "no configured NSG protects a range outside")

    @BLOCK_OUTBOUND.act.defn
    async def block_outbound(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.BLOCK_OUTBOUND, request.action)
        source = self._address(request.target)
        rules = firewall.plan(request.action, source, self.tenant)
        return await self._block(request, rules, "no configured NSG protects a range containing")

    @UNBLOCK.defn
    async def unblock(self, request: RevertInput) -> ActionResult:
        if CATALOGUE[request.action].revert is not UNBLOCK:
            raise refuse(f"input for {request.action.value} sent to the unblock activity")
        for ref in request.revert.nsg_rules:
            if not ref.rule.startswith(firewall.RULE_PREFIX):
                raise refuse(f"rule {ref.rule!r} on {ref.nsg} was not created by Riposte")
        holder = Holder(response_id=request.response_id, action_id=request.action_id)
        parts: list[str] = []
        calls: list[str] = []
        for ref in request.revert.nsg_rules:
            deleted, kept = await self.let_go(ref, holder)
            if deleted:
                parts.append(f"deleted {ref.rule} from {ref.nsg}")
                calls.append(f"DELETE {rule_path(ref)}")
            elif kept:
                parts.append(f"released {ref.rule} on {ref.nsg}, kept for {kept}")
            else:
                parts.append(f"{ref.rule} on {ref.nsg} already gone")
        summary = "; ".join(parts) if parts else "no rule to delete"
        return outcome(request, changed=bool(calls), summary=summary, calls=calls)

    async def let_go(self, ref: NsgRuleRef, holder: Holder) -> tuple[bool, str]:
        """Release `holder`'s hold; the last holder deletes the rule. Returns (deleted, the
        holders it is kept for, or "")."""
        key = block_key(ref)
        released = await asyncio.to_thread(self.ledger.release, key, holder)
        if not released.last:
            return False, describe_holders(released.remaining)
        deleted = await self.nsgs.delete_rule(ref)
        await asyncio.to_thread(self.ledger.forget, key)
        return deleted, ""

    # Placing rules

    def _address(self, target: str) -> Address:
        ranges = [ipaddress.ip_network(binding.cidr) for binding in self.tenant.nsgs]
        try:
            return normalise_address(target, ranges=ranges)
        except AddressRefused as err:  # input refused before any call; details name the rule
            raise ApplicationError(
                str(err), err.reason.value, type=FailureType.BAD_REQUEST, non_retryable=True
            ) from None

    async def _block(
        self, request: ActionInput, rules: list[DenyRule], missing: str
    ) -> ActionResult:
        if not rules:
            raise misconfigured(
                f"{missing} {request.target}: check the tenant's NSG settings (tenant.nsgs)"
            )
        try:
            placed = [await self._place(request, rule) for rule in rules]
        except ApplicationError as err:
            if not request.simulate and err.non_retryable:
                await self._undo(request, rules)
            raise
        revert = RevertState(nsg_rules=tuple(p.ref for p in placed))
        summary = "; ".join(p.summary for p in placed)
        calls = [p.call for p in placed if p.call is not None]
        if request.simulate:
            return outcome(request, changed=False, summary=summary, calls=calls)
        changed = any(p.changed for p in placed)
        return outcome(request, changed=changed, summary=summary, calls=calls, revert=revert)

    async def _undo(self, request: ActionInput, rules: list[DenyRule]) -> None:
        """After a permanent failure, let go of every hold this action took."""
        holder = Holder(response_id=request.response_id, action_id=request.action_id)
        for rule in rules:
            ref = NsgRuleRef(
                resource_group=rule.nsg.resource_group, nsg=rule.nsg.name, rule=rule.name
            )
            await self.let_go(ref, holder)

    async def _place(self, request: ActionInput, rule: DenyRule) -> Placement:
        ref = NsgRuleRef(resource_group=rule.nsg.resource_group, nsg=rule.nsg.name, rule=rule.name)
        others = ""
        if not request.simulate:
            holder = Holder(response_id=request.response_id, action_id=request.action_id)
            try:
                held = await asyncio.to_thread(self.ledger.hold, block_key(ref), holder)
            except BlockReleasing as err:
                raise ApplicationError(
                    str(err), type=FailureType.TRANSIENT, next_retry_delay=RELEASING_RETRY
                ) from None
            others = f", shared with {describe_holders(held.others)}" if held.others else ""
        taken: list[RuleView] = []  # priorities other writers took since the NSG was read
        for _ in range(CONFLICT_ATTEMPTS):
            state, nsg = await self.nsgs.read(rule.nsg)
            mine = next((r for r in state.rules if r.name == rule.name), None)
            if mine is not None:
                self._check_holds(state.rules, rule, mine.priority)
            priority = mine.priority if mine else self._priority([*state.rules, *taken], rule)
            # Checked first, written after: a block that would not hold changes nothing.
            flush = ""
            if not state.flush_connection:
                if request.simulate:
                    flush = f"; would turn on flushConnection on {rule.nsg.name}"
                elif not await self.nsgs.turn_on_flushing(rule.nsg, nsg):
                    continue  # the NSG changed under us: read it again
                else:
                    flush = f"; turned on flushConnection on {rule.nsg.name}"
            described = rule.describe(priority)
            if mine is not None:
                if _retrying() and not request.simulate and not others:
                    summary = f"added {described} (by an earlier attempt)"
                    return Placement(ref=ref, summary=summary + flush, changed=True)
                return Placement(ref=ref, summary=f"{described} already in place{others}{flush}")
            call = f"PUT {rule_path(ref)} priority={priority}"
            if request.simulate:
                return Placement(ref=ref, summary=f"would add {described}{flush}", call=call)
            description = (
                f"Riposte {request.action.value} for {request.response_id} ({request.action_id})"
            )
            if not await self.nsgs.put_rule(rule, priority, description):
                taken.append(_taken(rule, priority))  # another writer took it: look again
                continue
            return Placement(ref=ref, summary=f"added {described}{flush}", call=call, changed=True)
        raise ApplicationError(
            f"priorities on {rule.nsg.name} kept being taken by other writers",
            type=FailureType.TRANSIENT,
        )

    def _priority(self, rules: list[RuleView], rule: DenyRule) -> int:
        try:
            return choose_priority(rules, rule.view, rule.nsg.band)
        except BandViolation as err:
            raise band_error(err) from None

    def _check_holds(self, rules: tuple[RuleView, ...], rule: DenyRule, priority: int) -> None:
        before = still_holds(rules, rule.view, priority)
        if before is not None:
            raise ApplicationError(
                f"allow rule {before.name} (priority {before.priority}) on {rule.nsg.name} now "
                f"comes before {rule.name} (priority {priority}): the block would not hold",
                type=FailureType.NSG_RULE_SHADOWED,
                non_retryable=True,
            )


def band_error(err: BandViolation) -> ApplicationError:
    kind = FailureType.NSG_BAND_FULL if isinstance(err, BandFull) else FailureType.NSG_RULE_SHADOWED
    return ApplicationError(str(err), type=kind, non_retryable=True)


def _taken(rule: DenyRule, priority: int) -> RuleView:
    """A priority another writer took since the NSG was read, as a placeholder rule."""
    return RuleView(name="(taken)", priority=priority, direction=rule.direction.value, allows=False)


def _retrying() -> bool:
    return activity.in_activity() and activity.info().attempt > 1
