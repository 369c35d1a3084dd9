"""`policy check`: load policies, then run each policy's own examples against it.

A policy file may carry `examples: {match: [...], no_match: [...]}`, alerts in any format an
adapter reads. Each `match` example must parse and be matched by the policy; each `no_match`
example must parse and not be matched. An incident-scope policy's example is a list of alerts,
one incident's in order. A failing example is reported at its own line.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from riposte.adapters import parse_alert
from riposte.errors import InvalidInput
from riposte.incidents.rehearsal import rehearse
from riposte.policy.engine import evaluate
from riposte.policy.loader import (
    EXAMPLES,
    LoadedPolicy,
    PolicyError,
    PolicySet,
    load_policies,
)
from riposte.policy.models import Scope
from riposte.policy.snapshot import PolicySnapshot, SnapshotPolicy


def check_policies(paths: Iterable[Path]) -> PolicySet:
    """Every policy under `paths`, and every error in them or their examples."""
    loaded = load_policies(paths)
    errors = list(loaded.errors)
    for policy in loaded.policies:
        errors.extend(example_errors(policy))
    return PolicySet(loaded.policies, tuple(errors))


def example_errors(loaded: LoadedPolicy) -> list[PolicyError]:
    """The examples of one policy that fail to parse or to (not) match."""
    snapshot = PolicySnapshot(policies=(SnapshotPolicy(policy=loaded.policy, hash=loaded.hash),))
    errors: list[PolicyError] = []
    cases = [("match", True, body) for body in loaded.examples.match]
    cases += [("no_match", False, body) for body in loaded.examples.no_match]
    counters = {"match": 0, "no_match": 0}
    for key, should_match, body in cases:
        index = counters[key]
        counters[key] += 1
        line = loaded.line_of(EXAMPLES, key, index)
        where = f"{EXAMPLES}.{key}[{index}]"
        if loaded.policy.scope is Scope.INCIDENT:
            problem = _incident_example(body, snapshot, should_match)
            if problem:
                errors.append(PolicyError(str(loaded.path), line, f"{where}: {problem}"))
            continue
        try:
            alert = parse_alert(body)
        except InvalidInput as err:
            errors.append(PolicyError(str(loaded.path), line, f"{where}: bad alert: {err}"))
            continue
        plan = evaluate(alert, snapshot, "example")
        if should_match and not plan.matched:
            message = f"{where}: should match but does not ({plan.no_match_reason})"
            errors.append(PolicyError(str(loaded.path), line, message))
        elif not should_match and plan.matched:
            message = f"{where}: should not match but does"
            errors.append(PolicyError(str(loaded.path), line, message))
    return errors


def _incident_example(body: object, snapshot: PolicySnapshot, should_match: bool) -> str:
    """An incident-scope example is the list of an incident's alerts, in the order they come:
    it matches when the policy fires at any step. The problem with it, or ""."""
    if not isinstance(body, list) or not body:
        return "an incident-scope example is a list of alerts (the incident's, in order)"
    alerts = []
    for n, item in enumerate(body):
        try:
            alerts.append(parse_alert(item))
        except InvalidInput as err:
            return f"bad alert [{n}]: {err}"
    fired = any(s.started or s.escalations for s in rehearse(alerts, snapshot).steps)
    if should_match and not fired:
        return "should match but does not (the incident never meets match.incident)"
    if not should_match and fired:
        return "should not match but does"
    return ""
