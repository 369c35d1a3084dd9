"""How one alert's outcome differs between two policy sets (`policy backtest --against`).

Per policy name: matched by the new set only (`new_match`), by the old only (`lost_match`), by
both in another mode (`mode`, its incident's escalations included), or by both with other
actions, targets or exclusions (`actions`).
Each change carries its reason: the misses of the policy that no longer (or did not) match, the
two modes, or the actions added, dropped, newly excluded or no longer excluded.
"""

from __future__ import annotations

from collections.abc import Mapping

from riposte.backtest.report import Change, ChangeKind
from riposte.modes import Mode
from riposte.policy.compiled import CompiledPolicy, CompiledSnapshot, Planned, Verdict
from riposte.policy.matchers import Facts

Outcome = dict[tuple[str, str], str]  # (action, target) -> excluded reason ("" if carried out)


def changes_between(
    new: Verdict,
    old: Verdict,
    facts: Facts,
    new_set: CompiledSnapshot,
    old_set: CompiledSnapshot,
    *,
    modes: tuple[Mapping[str, Mode], Mapping[str, Mode]],
) -> tuple[Change, ...]:
    """The changes of `new` over `old` for one alert, by policy name; () when they agree.
    `modes` (new, old) holds the modes escalations gave policies, where they did."""
    if not new.matched and not old.matched:
        return ()
    new_modes, old_modes = modes
    new_policies = {p.name: p for p in new.matched}
    old_policies = {p.name: p for p in old.matched}
    changes: list[Change] = []
    for name in sorted(new_policies.keys() | old_policies.keys()):
        now, before = new_policies.get(name), old_policies.get(name)
        if before is None:
            why = _misses(old_set, name, facts)
            changes.append(Change(policy=name, kind=ChangeKind.NEW_MATCH, reason=f"was: {why}"))
        elif now is None:
            why = _misses(new_set, name, facts)
            changes.append(Change(policy=name, kind=ChangeKind.LOST_MATCH, reason=why))
        elif _mode(now, new_modes) is not _mode(before, old_modes):
            reason = f"mode {_mode(before, old_modes).value} -> {_mode(now, new_modes).value}"
            changes.append(Change(policy=name, kind=ChangeKind.MODE, reason=reason))
        else:
            reason = _action_changes(_outcome(new, name), _outcome(old, name))
            if reason:
                changes.append(Change(policy=name, kind=ChangeKind.ACTIONS, reason=reason))
    return tuple(changes)


def _mode(policy: CompiledPolicy, escalated: Mapping[str, Mode]) -> Mode:
    return escalated.get(policy.name, policy.mode)


def _misses(compiled: CompiledSnapshot, name: str, facts: Facts) -> str:
    for policy in compiled.policies:
        if policy.name == name:
            return "; ".join(miss.reason for miss in policy.matcher.misses(facts))
    if any(p.policy.name == name for p in compiled.snapshot.policies):
        return "its incident did not call for it at this alert"  # incident scope
    return "no such policy in that set"


def _outcome(verdict: Verdict, name: str) -> Outcome:
    return {_key(p): p.excluded for p in verdict.actions if p.policy.name == name}


def _key(planned: Planned) -> tuple[str, str]:
    return planned.step.action.value, planned.target


def _action_changes(now: Outcome, before: Outcome) -> str:
    parts: list[str] = []
    for key in sorted(now.keys() | before.keys()):
        action = f"{key[0]} {key[1]}"
        if key not in before:
            parts.append(f"+{action}" + (f" (excluded: {now[key]})" if now[key] else ""))
        elif key not in now:
            parts.append(f"-{action}")
        elif now[key] and not before[key]:
            parts.append(f"{action} now excluded: {now[key]}")
        elif before[key] and not now[key]:
            parts.append(f"{action} no longer excluded (was: {before[key]})")
    return "; ".join(parts)
