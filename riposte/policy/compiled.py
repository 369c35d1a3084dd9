"""A policy snapshot compiled once: matchers, exclusions and action steps, ready to evaluate.

    compile_snapshot(PolicySnapshot) -> CompiledSnapshot
        .decide(Facts) -> Verdict            the hot path: plain tuples, no models
        .plan(Alert, response_id) -> ResponsePlan   the same verdict as frozen models
        .no_match_reason(Facts) -> str

`evaluate` (the engine), `policy test`, `policy check` and the backtest all go through
`decide`, so they cannot disagree. The rules it applies are in `riposte.policy.engine`.

Extending it:
- a new match key: a compiler in `riposte.policy.matchers.CONDITION_COMPILERS`;
- a new action or action parameter: its catalogue entry (`riposte.actions.catalogue`), whose
  parameters model binds the policy's parameters and the alert into `ActionParams`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple

from riposte.actions.catalogue import CATALOGUE
from riposte.actions.descriptor import ActionParameters, Target
from riposte.actions.payloads import ActionName, ActionParams
from riposte.alerts import Alert
from riposte.domain.addresses import AddressRefused, normalise_address, unmapped
from riposte.modes import Mode, OnTimeout
from riposte.policy.matchers import MEMO_LIMIT, Facts, Matcher, compile_match
from riposte.policy.models import ActionSpec, Policy, Scope
from riposte.policy.patterns import compiled_globs
from riposte.policy.snapshot import PolicySnapshot, SnapshotPolicy
from riposte.response import MatchedPolicy, PlannedAction

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ParamBuilder = Callable[[Alert], ActionParams]


@lru_cache(maxsize=1024)
def network(cidr: str) -> IpNetwork:
    return ipaddress.ip_network(cidr, strict=False)


class Guard:
    """The engine-wide protections: accounts and ranges no policy or admin command acts on.

    With `normalise` (every response started since the addresses-normalised patch), an IP is
    normalised first (`riposte.domain.addresses`): a mapped IPv6 address meets the IPv4 ranges,
    and zone ids, platform, network and broadcast addresses are refused with their reason.
    """

    __slots__ = ("normalise", "ranges", "users")

    def __init__(
        self, users: Sequence[str], ranges: Sequence[str], *, normalise: bool = True
    ) -> None:
        self.users = frozenset(user.casefold() for user in users)
        self.ranges = tuple(network(cidr) for cidr in ranges)
        self.normalise = normalise

    def refusal(self, entity: Target, target: str) -> str:
        """Why `target` (an alert entity of kind `entity`) is never acted on; "" when it may be."""
        if entity is Target.USER:
            if "@" not in target:
                return f"{target!r} is not a UPN; only UPNs are acted on"
            if target.casefold() in self.users:
                return f"{target} is a protected account"
            return ""
        if self.normalise:
            try:
                address = normalise_address(target, ranges=self.ranges)
            except AddressRefused as err:
                return f"{target!r} is not acted on: {err.why}"
        else:
            legacy = _legacy_address(target)
            if legacy is None:
                return f"{target!r} is not a single IP address"
            address = legacy
        if address.is_unspecified or address.is_loopback or address.is_multicast:
            return f"{target} is not a single host's address"
        for cidr in self.ranges:
            if address in cidr:
                return f"{target} is in protected range {cidr}"
        return ""


@lru_cache(maxsize=8192)
def _legacy_address(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def _address(text: str) -> IpAddress | None:
    """The address an exclusion is checked against: IPv4-mapped IPv6 as IPv4, no zone id."""
    if "%" in text:
        return None
    found = _legacy_address(text.strip())
    return unmapped(found) if found is not None else None


def canonical_ip(text: str) -> str:
    """The target an IP action is carried out on: the normalised address when it parses."""
    found = _address(text)
    return str(found) if found is not None else text


class Step:
    """One action of a policy, compiled: what it targets and how its parameters are made."""

    __slots__ = (
        "action",
        "approval_timeout",
        "approvers",
        "duration",
        "entity",
        "on_timeout",
        "params",
    )

    def __init__(self, spec: ActionSpec, policy: Policy) -> None:
        entry = CATALOGUE[spec.name]
        self.action = spec.name
        self.entity = entry.target
        self.params: ParamBuilder = spec.params.bind
        if type(spec.params).bind is ActionParameters.bind:  # reads nothing of the alert
            fixed = ActionParams()
            self.params = lambda alert: fixed
        self.duration = policy.duration if entry.reversible else None
        self.approval_timeout: int = policy.approval.timeout
        self.on_timeout: OnTimeout = policy.approval.on_timeout
        self.approvers: int = policy.approval.approvers


class CompiledPolicy:
    """One policy of a snapshot: its matcher, mode, steps and exclusions."""

    __slots__ = (
        "exclude_ips",
        "exclude_users",
        "hash",
        "matched",
        "matcher",
        "mode",
        "name",
        "policy",
        "steps",
        "user_globs",
    )

    def __init__(self, entry: SnapshotPolicy, mode: Mode) -> None:
        policy = entry.policy
        self.policy = policy
        self.name = policy.name
        self.hash = entry.hash
        self.mode = mode
        self.matched = MatchedPolicy(name=policy.name, hash=entry.hash, mode=mode)
        self.matcher: Matcher = compile_match(policy.match)
        self.steps = tuple(Step(spec, policy) for spec in policy.actions)
        self.exclude_users = frozenset(user.casefold() for user in policy.exclude.users)
        self.user_globs = compiled_globs(policy.exclude.users) if policy.exclude.users else None
        self.exclude_ips = tuple(network(cidr) for cidr in policy.exclude.ips)

    def exclusion(self, entity: Target, target: str, *, normalise: bool = True) -> str:
        """Why this policy's `exclude` names `target`; "" when it does not."""
        if entity is Target.USER:
            user = target.casefold()
            if user in self.exclude_users or (
                self.user_globs is not None and self.user_globs.fullmatch(user) is not None
            ):
                return f"policy {self.name} excludes user {target}"
            return ""
        address = _address(target) if normalise else _legacy_address(target)
        for cidr in self.exclude_ips:
            if address is not None and address in cidr:
                return f"policy {self.name} excludes {cidr}, which holds {target}"
        return ""


class Planned(NamedTuple):
    """One kept action of a verdict."""

    policy: CompiledPolicy
    step: Step
    target: str
    excluded: str  # non-empty: never acted on, and why


class Verdict(NamedTuple):
    """What the policies call for, as plain tuples: the matched policies and kept actions."""

    matched: tuple[CompiledPolicy, ...]
    actions: tuple[Planned, ...]


class CompiledSnapshot:
    """Every policy of a snapshot compiled, in name order, with the engine-wide guard."""

    __slots__ = ("guard", "memo", "normalise", "policies", "reasons", "snapshot")

    def __init__(self, snapshot: PolicySnapshot, *, normalise: bool = True) -> None:
        self.snapshot = snapshot
        self.normalise = normalise
        self.guard = Guard(snapshot.protected_users, snapshot.protected_ranges, normalise=normalise)
        # Incident-scope policies are the incidents' to evaluate (riposte.incidents.scope).
        alert_scoped = (p for p in snapshot.policies if p.policy.scope is Scope.ALERT)
        ordered = sorted(alert_scoped, key=lambda p: p.policy.name)
        self.policies = tuple(CompiledPolicy(p, _mode(p.policy, snapshot)) for p in ordered)
        self.memo: dict[tuple[str, str, str], str] = {}
        self.reasons: dict[tuple[str, str, int, float, frozenset[str]], str] = {}

    def excluded(self, policy: CompiledPolicy, entity: Target, target: str) -> str:
        """Why `target` is not acted on under `policy`: the guard first, then its `exclude`."""
        key = (policy.name, entity, target)
        found = self.memo.get(key)
        if found is None:
            found = self.guard.refusal(entity, target) or policy.exclusion(
                entity, target, normalise=self.normalise
            )
            if len(self.memo) < MEMO_LIMIT:
                self.memo[key] = found
        return found

    def decide(self, facts: Facts) -> Verdict:
        """The matched policies and the actions kept (one per action and target)."""
        matched: list[CompiledPolicy] = []
        chosen: dict[tuple[ActionName, str], tuple[int, Planned]] = {}
        entities = facts.alert.entities
        position = 0
        for policy in self.policies:
            if not policy.matcher.holds(facts):
                continue
            matched.append(policy)
            for step in policy.steps:
                target = getattr(entities, step.entity)
                assert isinstance(target, str)  # a policy requires the entities it acts on
                excluded = self.excluded(policy, step.entity, target)
                if self.normalise and step.entity is Target.IP and not excluded:
                    target = canonical_ip(target)  # "::ffff:10.8.0.25" is blocked as 10.8.0.25
                key = (step.action, target.casefold())
                earlier = chosen.get(key)
                if earlier is None or (earlier[1].excluded and not excluded):
                    chosen[key] = (position, Planned(policy, step, target, excluded))
                position += 1
        if len(chosen) > 1:
            kept = tuple(planned for _, planned in sorted(chosen.values(), key=_first))
        else:
            kept = tuple(planned for _, planned in chosen.values())
        return Verdict(tuple(matched), kept)

    def no_match_reason(self, facts: Facts) -> str:
        """Why no policy matched: the closest policy's misses (lightest first, then by name).

        Remembered per `Facts.memo_key`: all a miss reads."""
        key = facts.memo_key()
        found = self.reasons.get(key)
        if found is None:
            found = self._no_match_reason(facts)
            if len(self.reasons) < MEMO_LIMIT:
                self.reasons[key] = found
        return found

    def _no_match_reason(self, facts: Facts) -> str:
        misses: list[tuple[int, str, str]] = []
        for policy in self.policies:
            found = policy.matcher.misses(facts)
            if found:
                weight = sum(miss.weight for miss in found)
                misses.append((weight, policy.name, "; ".join(miss.reason for miss in found)))
        if not misses:
            return "no policies loaded"
        _, name, why = min(misses)
        return f"{name}: {why}"

    def plan(self, alert: Alert, response_id: str) -> tuple[Verdict, list[PlannedAction], str]:
        """The verdict for `alert`, its actions as models, and the no-match reason."""
        facts = Facts(alert)
        verdict = self.decide(facts)
        actions = [
            _planned(f"{response_id}:a{n}", kept, alert)
            for n, kept in enumerate(verdict.actions, start=1)
        ]
        reason = "" if verdict.matched else self.no_match_reason(facts)
        return verdict, actions, reason


def _first(entry: tuple[int, Planned]) -> int:
    return entry[0]


def _planned(action_id: str, kept: Planned, alert: Alert) -> PlannedAction:
    step, policy = kept.step, kept.policy
    return PlannedAction(
        action_id=action_id,
        action=step.action,
        target=kept.target,
        mode=policy.mode,
        params=step.params(alert),
        policy=policy.name,
        policy_hash=policy.hash,
        duration_seconds=step.duration,
        approval_timeout_seconds=step.approval_timeout,
        on_timeout=step.on_timeout,
        approvers=step.approvers,
        excluded_reason=kept.excluded,
    )


def _mode(policy: Policy, snapshot: PolicySnapshot) -> Mode:
    """Precedence: the kill switch, then the policy's mode, then the engine default."""
    if snapshot.force_passive:
        return Mode.PASSIVE
    return policy.mode or snapshot.default_mode


_RECENT: dict[tuple[int, bool], CompiledSnapshot] = {}
RECENT_LIMIT = 64


def compile_snapshot(snapshot: PolicySnapshot, *, normalise: bool = True) -> CompiledSnapshot:
    """The compiled form of `snapshot`, compiled once per snapshot object (recent ones kept);
    `normalise=False` only for responses started before addresses were normalised."""
    found = _RECENT.get((id(snapshot), normalise))
    if found is not None and found.snapshot is snapshot:
        return found
    compiled = CompiledSnapshot(snapshot, normalise=normalise)
    if len(_RECENT) >= RECENT_LIMIT:
        _RECENT.pop(next(iter(_RECENT)), None)
    _RECENT[(id(snapshot), normalise)] = compiled
    return compiled
