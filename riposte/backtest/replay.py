"""A backtest: past alerts through a compiled policy set, tallied; nothing runs, nothing changes.

    Backtest(policies, against=None, budgets=Budgets())
        .add(alert)          one alert: the same `decide` the live engine plans with
        .report(...)         the BacktestReport

Each alert is decided once per set; only counts, distinct targets and the budget ledger are
kept, so memory grows with distinct targets, not with alerts. An alert seen again (same source
and id) is counted as a duplicate and not replayed: the live engine responds to it once.

Incident-scope policies plug in through `IncidentScope` (`riposte.backtest.incidents`): the
backtest hands it every alert, in the order given (sorted by time when incident-scope policies
are present), before tallying the alert's own verdict. What comes back is the alert's `Growth`:
the verdicts of the incident-scope responses it started, tallied beside the alert-scope ones,
and the escalations in force in its incident. The alert's planned actions of an escalated
policy take the escalation's mode before they are tallied and budgeted (and compared), as the
live response takes it on joining its incident (`riposte.incidents.rehearsal.escalation_for`);
under the kill switch, never. An escalation also reaches the earlier alerts' actions of the
incident still waiting for approval (asked less than their approval timeout before), as the
live engine signals them: they are tallied again under the new mode, and an autonomous one
spends budget at that hour. Alerts come in time order, so a waiting action is kept only until
its timeout has passed. (`--against` compares each alert as it arrives, without these.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from riposte.actions.payloads import ActionName
from riposte.alerts import Alert
from riposte.backtest.budgets import BudgetLedger
from riposte.backtest.compare import changes_between
from riposte.backtest.report import BacktestReport, Budgets, ChangedAlert, PolicyReport
from riposte.incidents.models import Escalation
from riposte.incidents.rehearsal import escalation_for
from riposte.modes import Mode
from riposte.policy.compiled import CompiledSnapshot, Verdict
from riposte.policy.matchers import Facts

ACTIONS: tuple[str, ...] = tuple(action.value for action in ActionName)
_ACTION_INDEX = {action: n for n, action in enumerate(ActionName)}


class Growth(NamedTuple):
    """What one alert's arrival did in its incident."""

    verdicts: Sequence[Verdict]  # of the incident-scope responses it started
    escalations: Sequence[Escalation]  # in force in its incident by then, its own included
    incident: str = ""  # the incident it joined
    recorded: Sequence[Escalation] = ()  # the escalations its arrival recorded


class _Waiting(NamedTuple):
    """A human-confirm action that would still wait for its approval until `until`."""

    until: int  # seconds since the epoch
    tally: int
    action: ActionName
    policy: str


class IncidentScope(Protocol):
    """Incident-scope policies, replayed as incidents grow (one alert at a time)."""

    @property
    def names(self) -> Sequence[str]: ...  # the incident-scope policies, reported beside

    def grow(self, facts: Facts) -> Growth: ...


class _Tally:
    __slots__ = (
        "actions",
        "budget_hours",
        "by_mode",
        "excluded",
        "excluded_targets",
        "matched",
        "targets",
    )

    def __init__(self) -> None:
        self.matched = 0
        self.actions: Counter[str] = Counter()
        self.by_mode: dict[str, Counter[str]] = {}
        self.targets: set[str] = set()
        self.excluded = 0
        self.excluded_targets: set[str] = set()
        self.budget_hours: set[str] = set()

    def report(self) -> PolicyReport:
        return PolicyReport(
            matched=self.matched,
            actions=dict(sorted(self.actions.items())),
            by_mode={mode: dict(sorted(c.items())) for mode, c in sorted(self.by_mode.items())},
            targets=tuple(sorted(self.targets)),
            excluded=self.excluded,
            excluded_targets=tuple(sorted(self.excluded_targets)),
            budget_hours=tuple(sorted(self.budget_hours)),
        )


class Backtest:
    """Tallies what `policies` would have done; with `against`, which alerts would differ."""

    def __init__(
        self,
        policies: CompiledSnapshot,
        *,
        against: CompiledSnapshot | None = None,
        budgets: Budgets | None = None,
        incidents: IncidentScope | None = None,
        against_incidents: IncidentScope | None = None,
    ) -> None:
        self.policies = policies
        self.against = against
        self.budgets = budgets or Budgets()
        self.incidents = incidents
        self.against_incidents = against_incidents
        self.alerts = 0
        self.unmatched = 0
        self.duplicates = 0
        self.changed: list[ChangedAlert] = []
        self._seen: set[str] = set()
        self._names = [policy.name for policy in policies.policies]
        self._names += list(incidents.names) if incidents is not None else []
        self._index = {name: n for n, name in enumerate(self._names)}
        self._tallies = [_Tally() for _ in self._names]
        self._ledger = BudgetLedger()
        self._waiting: dict[str, list[_Waiting]] = {}  # by incident

    def add(self, alert: Alert) -> None:
        key = alert.key
        if key in self._seen:
            self.duplicates += 1
            return
        self._seen.add(key)
        self.alerts += 1
        facts = Facts(alert)
        verdict = self.policies.decide(facts)
        second = int(alert.time.timestamp())
        growth = self.incidents.grow(facts) if self.incidents is not None else None
        modes = escalated_modes(self.policies, verdict, growth)
        if growth is not None and not self.policies.snapshot.force_passive:
            self._escalate_waiting(growth, second)
        self._tally(verdict, second, modes, growth.incident if growth is not None else "")
        grown = growth.verdicts if growth is not None else ()
        for incident_verdict in grown:
            self._tally(incident_verdict, second, {})  # never escalated: not a member
        if not verdict.matched:
            self.unmatched += 1
        if self.against is not None:
            old = self.against.decide(facts)
            old_growth = None
            if self.against_incidents is not None:
                old_growth = self.against_incidents.grow(facts)
            old_modes = escalated_modes(self.against, old, old_growth)
            if old_growth is not None:
                old = merged(old, old_growth.verdicts)
            now = merged(verdict, grown)
            changes = changes_between(
                now, old, facts, self.policies, self.against, modes=(modes, old_modes)
            )
            if changes:
                when = alert.time.isoformat().replace("+00:00", "Z")
                self.changed.append(
                    ChangedAlert(alert=key, name=alert.name, time=when, changes=changes)
                )

    def _escalate_waiting(self, growth: Growth, second: int) -> None:
        """The escalations this arrival recorded, given to its incident's actions still waiting
        for approval: counted again under their new mode."""
        waiting = self._waiting.get(growth.incident) if growth.recorded else None
        if not waiting:
            return
        still: list[_Waiting] = []
        for action in waiting:
            if action.until <= second:
                continue  # it expired (or was answered) before this alert
            escalation = escalation_for(growth.recorded, action.policy, Mode.HUMAN_CONFIRM)
            if escalation is None:
                still.append(action)
                continue
            by_mode = self._tallies[action.tally].by_mode
            before = by_mode[Mode.HUMAN_CONFIRM.value]
            before[action.action.value] -= 1
            if not before[action.action.value]:
                del before[action.action.value]
            if not before:
                del by_mode[Mode.HUMAN_CONFIRM.value]
            by_mode.setdefault(escalation.mode.value, Counter())[action.action.value] += 1
            if escalation.mode is Mode.AUTONOMOUS:
                self._ledger.record(second, _ACTION_INDEX[action.action], action.tally)
        self._waiting[growth.incident] = still

    def _tally(
        self, verdict: Verdict, second: int, modes: Mapping[str, Mode], incident: str = ""
    ) -> None:
        tallies, index = self._tallies, self._index
        for policy in verdict.matched:
            tallies[index[policy.name]].matched += 1
        for planned in verdict.actions:
            n = index[planned.policy.name]
            tally = tallies[n]
            if planned.excluded:
                tally.excluded += 1
                tally.excluded_targets.add(planned.target)
                continue
            action = planned.step.action
            mode = modes.get(planned.policy.name, planned.policy.mode)
            tally.actions[action.value] += 1
            counts = tally.by_mode.get(mode.value)
            if counts is None:
                counts = tally.by_mode[mode.value] = Counter()
            counts[action.value] += 1
            tally.targets.add(planned.target)
            if mode is Mode.AUTONOMOUS:
                self._ledger.record(second, _ACTION_INDEX[action], n)
            elif mode is Mode.HUMAN_CONFIRM and incident:
                until = second + planned.step.approval_timeout
                waiting = _Waiting(until, n, action, planned.policy.name)
                self._waiting.setdefault(incident, []).append(waiting)

    def report(self, *, bad_input: int = 0, skipped_events: int = 0) -> BacktestReport:
        hours, by_policy = self._ledger.tripped(self.budgets, ACTIONS)
        for n, policy_hours in by_policy.items():
            self._tallies[n].budget_hours |= policy_hours
        return BacktestReport(
            alerts=self.alerts,
            policies={name: t.report() for name, t in zip(self._names, self._tallies, strict=True)},
            changed=tuple(self.changed) if self.against is not None else None,
            unmatched=self.unmatched,
            duplicates=self.duplicates,
            bad_input=bad_input,
            skipped_events=skipped_events,
            budgets=self.budgets,
            budget_hours=tuple(hours),
        )


def escalated_modes(
    policies: CompiledSnapshot, verdict: Verdict, growth: Growth | None
) -> dict[str, Mode]:
    """The modes the escalations in force give the verdict's policies, where they change them;
    none under the kill switch, as in the live response."""
    if growth is None or not growth.escalations or policies.snapshot.force_passive:
        return {}
    modes: dict[str, Mode] = {}
    for policy in verdict.matched:
        escalation = escalation_for(growth.escalations, policy.name, policy.mode)
        if escalation is not None:
            modes[policy.name] = escalation.mode
    return modes


def merged(verdict: Verdict, grown: Sequence[Verdict]) -> Verdict:
    """An alert's verdict with those of the incident-scope responses its arrival started."""
    if not grown:
        return verdict
    matched = verdict.matched + tuple(p for g in grown for p in g.matched)
    return Verdict(matched, verdict.actions + tuple(a for g in grown for a in g.actions))
