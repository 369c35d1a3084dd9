"""A response policy, as loaded from YAML: frozen models that hold data and never run code.

    Policy
    ├── scope                 alert (default) | incident: evaluated each time an incident grows
    ├── match: Match          every key must hold; a list means "any of"
    │   ├── source, name (globs), name_regex (RE2), severity, score, entities
    │   ├── incident: IncidentMatch   counts of accounts, devices, alerts `within` (incident scope)
    │   ├── any: [Match, ...] at least one holds
    │   └── not: Match        must not hold
    ├── mode, approval, duration
    ├── actions: [ActionSpec, ...]
    ├── escalate: Escalate    incident scope: the mode of the incident's responses of named policies
    └── exclude: Exclude      users and IPs / CIDRs never acted on

Validation errors carry messages meant for `policy check`: they name the valid choices and, for
a likely typo, the closest one.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from riposte.actions.catalogue import CATALOGUE
from riposte.actions.descriptor import ActionParameters
from riposte.actions.payloads import ActionName
from riposte.model import Frozen
from riposte.modes import Mode, OnTimeout
from riposte.policy.choices import choice
from riposte.policy.conditions import (
    CountComparison,
    EntityName,
    ScoreComparison,
    SeverityComparison,
)
from riposte.policy.durations import Duration
from riposte.policy.patterns import PatternError, compiled_regex

POLICY_NAME = r"^[a-z0-9][a-z0-9._-]{0,63}$"

T = TypeVar("T")


def _listify(value: object) -> object:
    """A single value where a list is allowed means a list of one."""
    return [value] if isinstance(value, str | int | float) else value


def _regex(value: object) -> object:
    if isinstance(value, str):
        try:
            compiled_regex(value)
        except PatternError as err:
            raise ValueError(str(err)) from None
    return value


def _network(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError(f"expected an IP address or CIDR range, not {value!r}")
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or CIDR range") from None


AnyOf = Annotated[tuple[T, ...], BeforeValidator(_listify)]
Text = Annotated[str, Field(min_length=1, max_length=512)]
Regex = Annotated[str, BeforeValidator(_regex)]
Network = Annotated[str, BeforeValidator(_network)]


class Scope(StrEnum):
    ALERT = "alert"  # evaluated once per alert, acting on its entities
    INCIDENT = "incident"  # evaluated each time an incident grows, acting on its shared entities


class IncidentMatch(Frozen):
    """How far an incident has grown: distinct accounts and devices, and alerts, counting only
    the incident's alerts that meet the rest of the match, within `within` of the latest one."""

    accounts: CountComparison | None = None
    devices: CountComparison | None = None
    alerts: CountComparison | None = None
    within: Duration | None = None

    @model_validator(mode="after")
    def _counts_something(self) -> Self:
        if self.accounts is None and self.devices is None and self.alerts is None:
            raise ValueError("match.incident needs a count: accounts, devices or alerts")
        return self


class Match(Frozen):
    """Which alerts a policy answers. Every key given must hold; an empty match is refused."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    source: AnyOf[Text] = ()
    name: AnyOf[Text] = ()  # globs, matched against the " / " form of the alert name
    name_regex: AnyOf[Regex] = ()  # RE2, searched in the " / " form of the alert name
    severity: AnyOf[SeverityComparison] = ()
    score: AnyOf[ScoreComparison] = ()
    entities: AnyOf[EntityName] = ()  # all of these must be present
    any_of: tuple[Match, ...] = Field(default=(), alias="any")
    none_of: Match | None = Field(default=None, alias="not")
    incident: IncidentMatch | None = None  # scope: incident only

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        held = (self.source, self.name, self.name_regex, self.severity, self.score, self.entities)
        if not any(held) and not self.any_of and self.none_of is None and self.incident is None:
            raise ValueError("a match block needs at least one condition")
        return self


class Approval(Frozen):
    """How long a human-confirm request waits, what its silence means, and how many distinct
    principals must approve (M-of-N: one rejection rejects)."""

    approvers: int = Field(default=1, ge=1, le=10)
    timeout: Duration = 4 * 3600
    on_timeout: Annotated[OnTimeout, BeforeValidator(choice(OnTimeout, "on_timeout"))] = (
        OnTimeout.EXPIRE
    )


class Exclude(Frozen):
    """Targets this policy never acts on, whatever matched."""

    users: AnyOf[Text] = ()  # exact UPNs or globs ("svc-*@contoso.com"), ignoring case
    ips: AnyOf[Network] = ()  # addresses or CIDR ranges


class ActionSpec(Frozen):
    """One action as a policy names it: `disable_sign_in` or `block_ports: {ports: [445]}`.

    `params` is the catalogue entry's parameters model. Snapshots recorded before the catalogue
    held the parameters flat beside the name (`{name, which, sent_within, ports}`); they still
    load.
    """

    name: Annotated[ActionName, BeforeValidator(choice(ActionName, "action"))]
    params: SerializeAsAny[ActionParameters] = Field(
        default=ActionParameters(), validate_default=True
    )

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        """Read `name`, `{name: {params}}` or `{name, params}` into `{name, params}`."""
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and "name" not in value and len(value) == 1:
            [(name, params)] = value.items()
            if params is None:
                return {"name": name}
            if isinstance(params, dict):
                return {"name": name, "params": params}
            raise ValueError(f"the parameters of {name!r} must be a mapping, like {{which: all}}")
        if isinstance(value, dict) and "name" in value:
            if "params" in value:
                return value
            flat = {k: v for k, v in value.items() if k != "name" and v is not None}
            return {"name": value["name"], "params": flat}
        raise ValueError("an action is a name, or a mapping of one name to its parameters")

    @field_validator("params", mode="plain")
    @classmethod
    def _parameters_fit(cls, value: Any, info: ValidationInfo) -> ActionParameters:
        name = info.data.get("name")
        if not isinstance(name, ActionName):
            return ActionParameters()  # the name's own error is reported
        model = CATALOGUE[name].params
        if isinstance(value, model):
            return value
        given = value if isinstance(value, dict) else {}
        allowed = model.model_fields
        for extra in sorted(set(given) - set(allowed)):
            takes = f"it takes: {', '.join(allowed)}" if allowed else "it takes none"
            raise ValueError(f"{name.value} takes no parameter {extra!r}; {takes}")
        return model.model_validate(given)


class Escalate(Frozen):
    """Once an incident-scope policy matches, the incident's later and still-pending responses
    of `policies` take `mode` (the kill switch and the budgets still win)."""

    mode: Annotated[Mode, BeforeValidator(choice(Mode, "mode"))]
    policies: AnyOf[Annotated[str, Field(pattern=POLICY_NAME)]] = Field(min_length=1)


class Policy(Frozen):
    """One response policy (DESIGN.md, "Policy language")."""

    name: str = Field(pattern=POLICY_NAME)
    description: str = ""
    scope: Annotated[Scope, BeforeValidator(choice(Scope, "scope"))] = Scope.ALERT
    match: Match
    mode: Annotated[Mode | None, BeforeValidator(choice(Mode, "mode"))] = None
    approval: Approval = Approval()
    actions: tuple[ActionSpec, ...]  # may be empty only for an incident policy that escalates
    escalate: Escalate | None = None
    duration: Duration | None = None  # reversible actions revert after this
    exclude: Exclude = Exclude()

    @model_validator(mode="before")
    @classmethod
    def _escalating_needs_no_actions(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("scope") == "incident" and "actions" not in value:
            return {**value, "actions": ()}
        return value

    @model_validator(mode="after")
    def _fits_its_scope(self) -> Self:
        """An incident-scope policy counts with match.incident and may only escalate; an
        alert-scope one needs actions and cannot count or escalate."""
        if self.scope is Scope.INCIDENT:
            if self.match.incident is None:
                raise ValueError("a policy with scope: incident needs match.incident")
            if not self.actions and self.escalate is None:
                raise ValueError("a policy needs actions, or (scope: incident) escalate")
            return self
        if self.match.incident is not None:
            raise ValueError("match.incident needs scope: incident")
        if self.escalate is not None:
            raise ValueError("escalate needs scope: incident")
        if not self.actions:
            raise ValueError("a policy needs at least one action")
        return self

    @model_validator(mode="after")
    def _targets_required(self) -> Self:
        """Each action acts on an alert entity, so the match must require that entity (an
        incident-scope action acts on the incident's shared entities instead)."""
        if self.scope is Scope.INCIDENT:
            return self
        required = set(self.match.entities)
        for index, spec in enumerate(self.actions):
            entity = CATALOGUE[spec.name].target.value
            if entity not in required:
                raise PydanticCustomError(
                    "target_not_required",
                    "{action} acts on the alert's {entity}, so match.entities must include"
                    " {entity}",
                    {"action": spec.name.value, "entity": entity, "at": ("actions", index)},
                )
        return self
