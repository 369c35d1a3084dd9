"""Planning NSG deny rules: which NSGs apply, and the rule each gets. No I/O.

- `block_ports` puts an inbound Deny (source: the attacker, destination: the protected range, the
  given TCP/UDP ports) on every configured NSG whose protected range does not contain the
  attacker: those are the ranges it reaches into. An attacker outside every range is blocked on
  all of them.
- `block_outbound` puts an outbound Deny (source: the device, any destination, any port) on every
  configured NSG whose protected range contains the device.
- The rule name derives from the NSG, the direction, the address and the ports
  (`riposte.domain.nsg_band.shared_rule_name`): every response blocking the same thing shares
  one rule, and a retry or a second run finds it instead of adding another.
- Its priority is chosen in the NSG's band against the NSG's rules (`choose_priority`).
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum

from riposte.actions.payloads import ActionName
from riposte.domain.addresses import Address, contains
from riposte.domain.nsg_band import DenyView, shared_rule_name
from riposte.model import Frozen
from riposte.settings import NsgBinding, TenantSettings

RULE_PREFIX = "riposte-"


class Direction(StrEnum):
    INBOUND = "Inbound"
    OUTBOUND = "Outbound"


class DenyRule(Frozen):
    """The deny rule one action puts on one NSG (priority chosen later, against its rules)."""

    nsg: NsgBinding
    name: str
    direction: Direction
    source: str
    destination: str
    ports: tuple[int, ...] = ()  # empty: every port

    @property
    def view(self) -> DenyView:
        return DenyView(
            nsg=self.nsg.name,
            direction=self.direction.value,
            source=self.source,
            destination=self.destination,
            ports=self.ports,
        )

    @property
    def port_text(self) -> str:
        return ", ".join(str(port) for port in self.ports) if self.ports else "all ports"

    def describe(self, priority: int) -> str:
        """ "Deny rule riposte-… priority 110 on nsg-servers for 10.8.0.25 → 445, 9401"."""
        reach = self.port_text if self.direction is Direction.INBOUND else "all outbound traffic"
        return (
            f"Deny rule {self.name} priority {priority} on {self.nsg.name} "
            f"for {self.source} → {reach}"
        )


def plan(
    action: ActionName, source: Address, tenant: TenantSettings, *, ports: tuple[int, ...] = ()
) -> list[DenyRule]:
    """The deny rules `action` adds for `source`; empty when no configured NSG applies."""
    rules: list[DenyRule] = []
    for binding in tenant.nsgs:
        inside = _within(source, binding)
        if action is ActionName.BLOCK_PORTS and not inside:
            rules.append(
                _named(binding, Direction.INBOUND, str(source), binding.cidr, tuple(sorted(ports)))
            )
        elif action is ActionName.BLOCK_OUTBOUND and inside:
            rules.append(_named(binding, Direction.OUTBOUND, str(source), "*", ()))
    return rules


def _named(
    binding: NsgBinding,
    direction: Direction,
    source: str,
    destination: str,
    ports: tuple[int, ...],
) -> DenyRule:
    unnamed = DenyRule(
        nsg=binding,
        name="",
        direction=direction,
        source=source,
        destination=destination,
        ports=ports,
    )
    name = shared_rule_name(binding.resource_group, binding.name, unnamed.view)
    return unnamed.model_copy(update={"name": name})


def _within(source: Address, binding: NsgBinding) -> bool:
    return contains(ipaddress.ip_network(binding.cidr), source)
