"""The shape of one catalogue entry: what an action targets, takes, calls and needs. Pure.

    ActionDescriptor
    ├── name, target        the alert entity it acts on (a UPN or an IP)
    ├── params              its parameters as a policy writes them, bound to an alert
    ├── act, revert         typed references to its activities (revert: None when irreversible)
    └── graph, azure        the Graph permissions or Azure role it needs

The workflow and `riposte act` address activities through `ActivityRef`s
(`riposte.activity_refs`), never by a bare string.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from riposte.actions.payloads import (
    ActionInput,
    ActionName,
    ActionParams,
    ActionResult,
    RevertInput,
)
from riposte.activity_refs import ActivityRef
from riposte.alerts import Alert
from riposte.model import Frozen


class Target(StrEnum):
    """The alert entity an action acts on."""

    USER = "user"
    IP = "ip"


def act_ref(name: str) -> ActivityRef[ActionInput, ActionResult]:
    return ActivityRef(name, ActionInput, ActionResult)


def revert_ref(name: str) -> ActivityRef[RevertInput, ActionResult]:
    return ActivityRef(name, RevertInput, ActionResult)


class Need(Frozen):
    """One Graph application permission, and the broader ones that also grant it."""

    permission: str
    covered_by: tuple[str, ...] = ()

    def met_by(self, roles: Iterable[str]) -> bool:
        granted = set(roles)
        return self.permission in granted or not granted.isdisjoint(self.covered_by)

    @property
    def advice(self) -> str:
        return f"grant the Graph application permission {self.permission} (with admin consent)"


class AzureRole(Frozen):
    """The Azure built-in role an action needs, and the actions a custom role would need."""

    role: str
    actions: tuple[str, ...]

    def advice(self, scope: str) -> str:
        return f"assign the Azure role {self.role} on {scope}, or a custom role with " + ", ".join(
            self.actions
        )


class ActionParameters(Frozen):
    """An action's parameters as a policy writes them (`{which: all}`); this one takes none."""

    def bind(self, alert: Alert) -> ActionParams:
        """The activity's parameters for one alert (what the policy says, plus the alert's own)."""
        return ActionParams()


@dataclass(frozen=True)
class ActionDescriptor:
    """One action: everything the policy language, engine, workflow, worker, doctor and CLI
    know about it."""

    name: ActionName
    target: Target
    act: ActivityRef[ActionInput, ActionResult]  # simulates (input.simulate) or executes
    revert: ActivityRef[RevertInput, ActionResult] | None = None
    params: type[ActionParameters] = ActionParameters
    graph: tuple[Need, ...] = ()
    azure: AzureRole | None = None
    public_targets_only: bool = False  # answers an incident's public addresses only

    @property
    def reversible(self) -> bool:
        return self.revert is not None
