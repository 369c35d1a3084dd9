"""Azure network actions: NSG deny rules for an attacker's ports or a device's outbound traffic.

`block_ports` and `block_outbound` add one Deny security rule per applicable NSG (see
`riposte.actions.firewall` for which NSGs apply, the rule name and the priority); `unblock`
deletes exactly the rules an action recorded. Each write waits for ARM's long-running operation,
heartbeating meanwhile. A rule whose name is already on the NSG is this action's own rule from an
earlier attempt or run, so it is kept, never added twice. When another writer takes the chosen
priority first (`SecurityRuleConflict`), the next free priority is tried.
"""

from __future__ import annotations

import asyncio
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.core.polling import AsyncLROPoller
from azure.mgmt.network.aio import NetworkManagementClient
from azure.mgmt.network.models import (
    NetworkSecurityGroup,
    SecurityRule,
    SecurityRulePropertiesFormat,
)
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import error_code, status_of, translated
from activities.outcome import outcome
from riposte.actions import firewall, validation
from riposte.actions.catalogue import BLOCK_OUTBOUND, BLOCK_PORTS, CATALOGUE, UNBLOCK
from riposte.actions.firewall import DenyRule, Direction, ExistingRule
from riposte.actions.payloads import (
    ActionInput,
    ActionName,
    ActionResult,
    NsgRuleRef,
    RevertInput,
    RevertState,
)
from riposte.failures import FailureType, misconfigured, refuse
from riposte.model import Frozen
from riposte.settings import NsgBinding, TenantSettings

CONFLICT_ATTEMPTS = 5
HEARTBEAT_SECONDS = 10.0
_DESCRIPTION_LIMIT = 140


class Placement(Frozen):
    """What happened (or would happen) to one deny rule on one NSG."""

    ref: NsgRuleRef
    summary: str
    call: str | None = None
    changed: bool = False


class NetworkActivities:
    """block_ports, block_outbound and unblock, on one azure-mgmt-network client."""

    def __init__(self, network: NetworkManagementClient, tenant: TenantSettings) -> None:
        self.network = network
        self.tenant = tenant

    @BLOCK_PORTS.act.defn
    async def block_ports(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.BLOCK_PORTS, request.action)
        source = validation.address(request.target)
        ports = validation.ports(request.params)
        name = firewall.rule_name(request.response_id, request.action_id)
        rules = firewall.plan(request.action, source, self.tenant, name=name, ports=ports)
        return await self._block(request, rules, "no configured NSG protects a range outside")

    @BLOCK_OUTBOUND.act.defn
    async def block_outbound(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.BLOCK_OUTBOUND, request.action)
        source = validation.address(request.target)
        name = firewall.rule_name(request.response_id, request.action_id)
        rules = firewall.plan(request.action, source, self.tenant, name=name)
        return await self._block(request, rules, "no configured NSG protects a range containing")

    @UNBLOCK.defn
    async def unblock(self, request: RevertInput) -> ActionResult:
        if CATALOGUE[request.action].revert is not UNBLOCK:
            raise refuse(f"input for {request.action.value} sent to the unblock activity")
        for ref in request.revert.nsg_rules:
            if not ref.rule.startswith(firewall.RULE_PREFIX):
                raise refuse(f"rule {ref.rule!r} on {ref.nsg} was not created by Riposte")
        deleted: list[str] = []
        calls: list[str] = []
        gone = 0
        for ref in request.revert.nsg_rules:
            with translated(f"deleting rule {ref.rule} from {ref.nsg}"):
                if not await self._exists(ref):
                    gone += 1
                    continue
                poller = await self.network.security_rules.begin_delete(
                    ref.resource_group, ref.nsg, ref.rule
                )
                await _wait(poller)
            deleted.append(f"{ref.rule} from {ref.nsg}")
            calls.append(f"DELETE {_rule_path(ref)}")
        summary = "deleted " + (", ".join(deleted) if deleted else "no rule")
        if gone:
            summary += f" ({gone} already gone)"
        return outcome(request, changed=bool(deleted), summary=summary, calls=calls)

    # Placing rules

    async def _block(
        self, request: ActionInput, rules: list[DenyRule], missing: str
    ) -> ActionResult:
        if not rules:
            raise misconfigured(
                f"{missing} {request.target}: check the tenant's NSG settings (tenant.nsgs)"
            )
        placed = [await self._place(request, rule) for rule in rules]
        revert = RevertState(nsg_rules=tuple(p.ref for p in placed))
        summary = "; ".join(p.summary for p in placed)
        calls = [p.call for p in placed if p.call is not None]
        if request.simulate:
            return outcome(request, changed=False, summary=summary, calls=calls)
        changed = any(p.changed for p in placed)
        return outcome(request, changed=changed, summary=summary, calls=calls, revert=revert)

    async def _place(self, request: ActionInput, rule: DenyRule) -> Placement:
        ref = NsgRuleRef(resource_group=rule.nsg.resource_group, nsg=rule.nsg.name, rule=rule.name)
        after = firewall.MIN_PRIORITY - 1
        for _ in range(CONFLICT_ATTEMPTS):
            rules = await self._rules(rule.nsg)
            mine = next((r for r in rules if r.name == rule.name), None)
            if mine is not None:
                shadows = _shadows(rules, rule, mine.priority)
                if _retrying() and not request.simulate:  # our own earlier attempt added it
                    summary = f"added {rule.describe(mine.priority)} (by an earlier attempt)"
                    return Placement(ref=ref, summary=summary + shadows, changed=True)
                summary = f"{rule.describe(mine.priority)} already in place"
                return Placement(ref=ref, summary=summary + shadows)
            taken = [r.priority for r in rules if r.direction is rule.direction]
            priority = firewall.free_priority(taken, after=after)
            if priority is None:
                raise ApplicationError(
                    f"no free {rule.direction.value.lower()} priority (100-4096) "
                    f"on {rule.nsg.name}",
                    type=FailureType.CONFLICT,
                    non_retryable=True,
                )
            call = f"PUT {_rule_path(ref)} priority={priority}"
            if request.simulate:
                summary = f"would add {rule.describe(priority)}" + _shadows(rules, rule, priority)
                return Placement(ref=ref, summary=summary, call=call)
            if not await self._put(rule, priority, request):
                after = priority  # another writer took it: look again, above it
                continue
            summary = f"added {rule.describe(priority)}" + _shadows(rules, rule, priority)
            return Placement(ref=ref, summary=summary, call=call, changed=True)
        raise ApplicationError(
            f"priorities on {rule.nsg.name} kept being taken by other writers",
            type=FailureType.TRANSIENT,
        )

    async def _put(self, rule: DenyRule, priority: int, request: ActionInput) -> bool:
        """PUT the rule and wait; False when another rule already holds that priority."""
        ports = [str(port) for port in rule.ports]
        properties = SecurityRulePropertiesFormat(
            description=(
                f"Riposte {request.action.value} for {request.response_id} ({request.action_id})"
            )[:_DESCRIPTION_LIMIT],
            protocol="*",
            access="Deny",
            direction=rule.direction.value,
            priority=priority,
            source_address_prefix=rule.source,
            source_port_range="*",
            destination_address_prefix=rule.destination,
            destination_port_range="*" if not ports else (ports[0] if len(ports) == 1 else None),
            destination_port_ranges=ports if len(ports) > 1 else None,
        )
        body = SecurityRule(properties=properties)
        with translated(f"adding rule {rule.name} to {rule.nsg.name}"):
            try:
                poller = await self.network.security_rules.begin_create_or_update(
                    rule.nsg.resource_group, rule.nsg.name, rule.name, body
                )
                await _wait(poller)
            except HttpResponseError as err:
                if error_code(err) == "SecurityRuleConflict":
                    return False
                raise
        return True

    async def _rules(self, binding: NsgBinding) -> list[ExistingRule]:
        try:
            with translated(f"reading NSG {binding.name}"):
                nsg: NetworkSecurityGroup = await self.network.network_security_groups.get(
                    binding.resource_group, binding.name
                )
        except ApplicationError as err:
            if err.type == FailureType.NOT_FOUND:
                raise misconfigured(
                    f"NSG {binding.name} in resource group {binding.resource_group}, configured "
                    f"to protect {binding.cidr}, does not exist"
                ) from None
            raise
        found = nsg.properties.security_rules if nsg.properties is not None else None
        return [_existing(rule) for rule in found or [] if rule.properties is not None]

    async def _exists(self, ref: NsgRuleRef) -> bool:
        try:
            await self.network.security_rules.get(ref.resource_group, ref.nsg, ref.rule)
        except HttpResponseError as err:
            if status_of(err) == 404:
                return False
            raise
        return True


async def _wait(poller: AsyncLROPoller[Any]) -> None:
    """Wait for a long-running operation, heartbeating so a long wait is not taken for a hang."""
    result = asyncio.ensure_future(poller.result())
    while True:
        done, _ = await asyncio.wait({result}, timeout=HEARTBEAT_SECONDS)
        if done:
            result.result()
            return
        if activity.in_activity():
            activity.heartbeat()


def _retrying() -> bool:
    return activity.in_activity() and activity.info().attempt > 1


def _shadows(rules: list[ExistingRule], rule: DenyRule, priority: int) -> str:
    """A warning naming the Allow rules that NSG evaluates before the deny, if any."""
    first = [f"{r.name} ({r.priority})" for r in rules if r.precedes(rule, priority)]
    if not first:
        return ""
    return " (allow rules evaluated before it: " + ", ".join(first) + ")"


def _existing(rule: SecurityRule) -> ExistingRule:
    props = rule.properties
    assert props is not None
    sources = [props.source_address_prefix, *(props.source_address_prefixes or [])]
    ports = [props.destination_port_range, *(props.destination_port_ranges or [])]
    return ExistingRule(
        name=str(rule.name),
        priority=int(props.priority),
        direction=Direction(_enum_text(props.direction).capitalize()),
        allows=_enum_text(props.access).lower() == "allow",
        sources=tuple(str(prefix) for prefix in sources if prefix),
        ports=tuple(str(port) for port in ports if port),
    )


def _enum_text(value: object) -> str:
    """An SDK enum member or plain string, as the service spells it."""
    return str(getattr(value, "value", value))


def _rule_path(ref: NsgRuleRef) -> str:
    return (
        f"/resourceGroups/{ref.resource_group}/providers/Microsoft.Network/"
        f"networkSecurityGroups/{ref.nsg}/securityRules/{ref.rule}"
    )
