"""The policy engine: from an alert and a policy snapshot to a response plan. Pure, no I/O.

`evaluate` runs inside workflow code, so it is deterministic and imports nothing that performs
I/O; name patterns are compiled once per pattern string (RE2, cached).

Rules, in order:
- Policies are tried in name order; every policy whose `match` holds contributes its actions in
  the order it lists them.
- A policy's mode is `passive` when the engine-wide kill switch is on, else its own `mode`, else
  the engine default.
- An action acts on the alert entity its `ActionName.target_entity` names (a policy must require
  that entity, so the target is always there).
- An action is excluded, and never acted on, when its target is an engine-wide protected user or
  inside a protected range, or when its policy's `exclude` names it. An IP target that is not a
  single host's address (unparseable, unspecified, loopback, multicast) is excluded too.
- Two policies may plan the same (action, target): one is kept, the first by policy name that is
  not excluded (an excluded one is kept only when no policy would carry it out).
- Action ids are "{response_id}:a{n}", n counting from 1 over the kept actions in that order, so
  the same alert and snapshot always give the same ids.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from riposte.actions import ActionName, ActionParams, RuleSelection
from riposte.alerts import Alert
from riposte.model import Frozen
from riposte.policy.matching import failures
from riposte.policy.models import ActionSpec, Policy
from riposte.policy.patterns import glob_matches
from riposte.policy.snapshot import (
    PolicyErrorType,
    PolicySnapshot,
    SnapshotPolicy,
    SnapshotRequest,
)
from riposte.response import MatchedPolicy, PlannedAction
from riposte.settings import Mode

__all__ = [
    "PolicyErrorType",
    "PolicySnapshot",
    "ResponsePlan",
    "SnapshotPolicy",
    "SnapshotRequest",
    "evaluate",
    "plan_mode",
    "protection",
]

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ResponsePlan(Frozen):
    """What the policies call for. `actions` holds excluded ones too, with `excluded_reason` set."""

    matched: tuple[MatchedPolicy, ...] = ()
    actions: tuple[PlannedAction, ...] = ()
    no_match_reason: str = ""  # set when no policy matched

    @property
    def to_carry_out(self) -> tuple[PlannedAction, ...]:
        return tuple(a for a in self.actions if not a.excluded_reason)

    @property
    def excluded(self) -> tuple[PlannedAction, ...]:
        return tuple(a for a in self.actions if a.excluded_reason)


def plan_mode(policy: Policy, snapshot: PolicySnapshot) -> Mode:
    """Precedence: the kill switch, then the policy's mode, then the engine default."""
    if snapshot.force_passive:
        return Mode.PASSIVE
    return policy.mode or snapshot.default_mode


def evaluate(alert: Alert, snapshot: PolicySnapshot, response_id: str) -> ResponsePlan:
    """The response plan for `alert` under `snapshot`; deterministic in its inputs."""
    matched: list[MatchedPolicy] = []
    candidates: list[PlannedAction] = []
    misses: list[tuple[int, str, str]] = []
    for entry in sorted(snapshot.policies, key=lambda p: p.policy.name):
        policy = entry.policy
        found = failures(policy.match, alert)
        if found:
            weight = sum(miss.weight for miss in found)
            misses.append((weight, policy.name, "; ".join(miss.reason for miss in found)))
            continue
        mode = plan_mode(policy, snapshot)
        matched.append(MatchedPolicy(name=policy.name, hash=entry.hash, mode=mode))
        candidates.extend(_plan(spec, entry, mode, alert, snapshot) for spec in policy.actions)
    kept = _deduplicate(candidates)
    numbered = tuple(
        action.model_copy(update={"action_id": f"{response_id}:a{n}"})
        for n, action in enumerate(kept, start=1)
    )
    reason = ""
    if not matched:
        reason = "no policies loaded"
        if misses:
            _, name, why = min(misses)
            reason = f"{name}: {why}"
    return ResponsePlan(matched=tuple(matched), actions=numbered, no_match_reason=reason)


def _plan(
    spec: ActionSpec, entry: SnapshotPolicy, mode: Mode, alert: Alert, snapshot: PolicySnapshot
) -> PlannedAction:
    policy = entry.policy
    target = getattr(alert.entities, spec.name.target_entity)
    assert isinstance(target, str)  # a policy requires the entities its actions act on
    return PlannedAction(
        action_id="",
        action=spec.name,
        target=target,
        mode=mode,
        params=_params(spec, alert),
        policy=policy.name,
        policy_hash=entry.hash,
        duration_seconds=policy.duration if spec.name.reversible else None,
        approval_timeout_seconds=policy.approval.timeout,
        on_timeout=policy.approval.on_timeout,
        excluded_reason=_exclusion(spec.name, target, policy, snapshot),
    )


def _params(spec: ActionSpec, alert: Alert) -> ActionParams:
    match spec.name:
        case ActionName.DELETE_INBOX_RULES:
            return ActionParams(
                which=spec.which or RuleSelection.SUSPICIOUS,
                rule_names=alert.entities.inbox_rules,
            )
        case ActionName.QUARANTINE_MAIL:
            return ActionParams(
                message_ids=alert.entities.messages, sent_within_seconds=spec.sent_within
            )
        case ActionName.BLOCK_PORTS:
            return ActionParams(ports=spec.ports or ())
        case _:
            return ActionParams()


def _exclusion(action: ActionName, target: str, policy: Policy, snapshot: PolicySnapshot) -> str:
    """Why `target` must not be acted on, or "" when it may be."""
    protected = protection(action, target, snapshot)
    if protected:
        return protected
    if action.target_entity == "user":
        user = target.casefold()
        for pattern in policy.exclude.users:
            if pattern.casefold() == user or glob_matches(pattern, user):
                return f"policy {policy.name} excludes user {target}"
        return ""
    address = ipaddress.ip_address(target)
    for cidr in policy.exclude.ips:
        if address in _network(cidr):
            return f"policy {policy.name} excludes {_network(cidr)}, which holds {target}"
    return ""


def protection(action: ActionName, target: str, snapshot: PolicySnapshot) -> str:
    """Why no policy, and no admin command, may act on `target`; "" when nothing forbids it.

    Users are matched by UPN, so only UPNs are acted on: an object id (which Graph also accepts)
    could otherwise reach a protected account. An IP must be a single host's address.
    """
    if action.target_entity == "user":
        if "@" not in target:
            return f"{target!r} is not a UPN; only UPNs are acted on"
        if target.casefold() in {p.casefold() for p in snapshot.protected_users}:
            return f"{target} is a protected account"
        return ""
    try:
        address = ipaddress.ip_address(target)
    except ValueError:
        return f"{target!r} is not a single IP address"
    if address.is_unspecified or address.is_loopback or address.is_multicast:
        return f"{target} is not a single host's address"
    for cidr in snapshot.protected_ranges:
        if address in _network(cidr):
            return f"{target} is in protected range {_network(cidr)}"
    return ""


@lru_cache(maxsize=1024)
def _network(cidr: str) -> IpNetwork:
    return ipaddress.ip_network(cidr, strict=False)


def _deduplicate(candidates: list[PlannedAction]) -> list[PlannedAction]:
    """One action per (action, target): the first carried out, else the first excluded."""
    chosen: dict[tuple[ActionName, str], int] = {}
    for index, action in enumerate(candidates):
        key = (action.action, action.target.casefold())
        earlier = chosen.get(key)
        if earlier is None or (candidates[earlier].excluded_reason and not action.excluded_reason):
            chosen[key] = index
    return [candidates[index] for index in sorted(chosen.values())]
