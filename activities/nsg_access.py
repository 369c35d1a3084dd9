"""Reads and writes of NSGs through azure-mgmt-network, for the network activities and the
reconciler: an NSG's rules and flushConnection, PUT and DELETE of one rule, turning flushing on.

Each write waits for ARM's long-running operation, heartbeating meanwhile. SDK errors are
translated once (`activities.errors.translated`).
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
from riposte.actions.firewall import DenyRule
from riposte.actions.payloads import NsgRuleRef
from riposte.domain.nsg_band import RuleView
from riposte.failures import FailureType, misconfigured
from riposte.model import Frozen
from riposte.settings import NsgBinding

HEARTBEAT_SECONDS = 10.0
DESCRIPTION_LIMIT = 140
_PRECONDITION_FAILED = 412


class NsgState(Frozen):
    """An NSG as read: its own security rules, and whether rule changes cut live flows."""

    rules: tuple[RuleView, ...]
    descriptions: dict[str, str] = {}  # rule name -> description, for Riposte's rules
    flush_connection: bool = False


class NsgAccess:
    def __init__(self, network: NetworkManagementClient) -> None:
        self.network = network

    async def read(self, binding: NsgBinding) -> tuple[NsgState, NetworkSecurityGroup]:
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
        props = nsg.properties
        found = (props.security_rules if props is not None else None) or []
        rules = [rule for rule in found if rule.properties is not None]
        state = NsgState(
            rules=tuple(rule_view(rule) for rule in rules),
            descriptions={
                str(rule.name): str(rule.properties.description or "")
                for rule in rules
                if rule.properties is not None and str(rule.name).startswith("riposte-")
            },
            flush_connection=bool(props is not None and props.flush_connection),
        )
        return state, nsg

    async def turn_on_flushing(self, binding: NsgBinding, nsg: NetworkSecurityGroup) -> bool:
        """Set flushConnection on the NSG as read; False when another writer changed it first
        (its etag no longer matches), so the caller reads again."""
        assert nsg.properties is not None
        nsg.properties.flush_connection = True
        headers = {"If-Match": nsg.etag} if nsg.etag else {}
        with translated(f"turning on flushConnection on {binding.name}"):
            try:
                poller = await self.network.network_security_groups.begin_create_or_update(
                    binding.resource_group, binding.name, nsg, headers=headers
                )
                await wait(poller)
            except HttpResponseError as err:
                if err.status_code == _PRECONDITION_FAILED:
                    return False
                raise
        return True

    async def put_rule(self, rule: DenyRule, priority: int, description: str) -> bool:
        """PUT the rule and wait; False when another rule already holds that priority."""
        ports = [str(port) for port in rule.ports]
        properties = SecurityRulePropertiesFormat(
            description=description[:DESCRIPTION_LIMIT],
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
                await wait(poller)
            except HttpResponseError as err:
                if error_code(err) == "SecurityRuleConflict":
                    return False
                raise
        return True

    async def delete_rule(self, ref: NsgRuleRef) -> bool:
        """DELETE the rule and wait; False when it was already gone."""
        with translated(f"deleting rule {ref.rule} from {ref.nsg}"):
            try:
                await self.network.security_rules.get(ref.resource_group, ref.nsg, ref.rule)
            except HttpResponseError as err:
                if status_of(err) == 404:
                    return False
                raise
            poller = await self.network.security_rules.begin_delete(
                ref.resource_group, ref.nsg, ref.rule
            )
            await wait(poller)
        return True


async def wait(poller: AsyncLROPoller[Any]) -> None:
    """Wait for a long-running operation, heartbeating so a long wait is not taken for a hang."""
    result = asyncio.ensure_future(poller.result())
    while True:
        done, _ = await asyncio.wait({result}, timeout=HEARTBEAT_SECONDS)
        if done:
            result.result()
            return
        if activity.in_activity():
            activity.heartbeat()


def rule_path(ref: NsgRuleRef) -> str:
    return (
        f"/resourceGroups/{ref.resource_group}/providers/Microsoft.Network/"
        f"networkSecurityGroups/{ref.nsg}/securityRules/{ref.rule}"
    )


def rule_view(rule: SecurityRule) -> RuleView:
    props = rule.properties
    assert props is not None
    sources = [props.source_address_prefix, *(props.source_address_prefixes or [])]
    destinations = [
        props.destination_address_prefix,
        *(props.destination_address_prefixes or []),
    ]
    ports = [props.destination_port_range, *(props.destination_port_ranges or [])]
    return RuleView(
        name=str(rule.name),
        priority=int(props.priority),
        direction=_enum_text(props.direction).capitalize(),
        allows=_enum_text(props.access).lower() == "allow",
        sources=tuple(str(p) for p in sources if p) or ("*",),
        destinations=tuple(str(p) for p in destinations if p) or ("*",),
        ports=tuple(str(p) for p in ports if p) or ("*",),
    )


def _enum_text(value: object) -> str:
    """An SDK enum member or plain string, as the service spells it."""
    return str(getattr(value, "value", value))
