"""Compiled policies: a snapshot is compiled once, and its verdicts are the engine's plans."""

from __future__ import annotations

from riposte.policy.compiled import compile_snapshot
from riposte.policy.engine import evaluate
from riposte.policy.matchers import Facts
from tests.test_policy_engine import NETWORK, TAKEOVER, alert, snapshot


def test_a_snapshot_is_compiled_once_per_snapshot_object() -> None:
    """Evaluating the same snapshot object again reuses its compiled matchers."""
    policies = snapshot(TAKEOVER, NETWORK)
    assert compile_snapshot(policies) is compile_snapshot(policies)
    assert compile_snapshot(policies) is not compile_snapshot(snapshot(TAKEOVER, NETWORK))


def test_the_verdict_is_the_plan_without_models() -> None:
    """`decide` keeps the same actions, targets and exclusions that `evaluate` plans."""
    policies = snapshot(TAKEOVER, NETWORK)
    for case in (alert(), alert(name="Device / Network Scan"), alert(source="defender")):
        verdict = compile_snapshot(policies).decide(Facts(case))
        plan = evaluate(case, policies, case.key)
        assert [p.name for p in verdict.matched] == [m.name for m in plan.matched]
        assert [(k.step.action, k.target, k.excluded) for k in verdict.actions] == [
            (a.action, a.target, a.excluded_reason) for a in plan.actions
        ]


def test_name_matches_are_remembered_per_name_but_stay_correct() -> None:
    """A remembered name verdict never leaks to another name."""
    policies = compile_snapshot(snapshot(TAKEOVER))
    hit, miss = alert(), alert(name="SaaS / Compliance / New Email Rule")
    for _ in range(3):
        assert policies.decide(Facts(hit)).matched
        assert not policies.decide(Facts(miss)).matched
