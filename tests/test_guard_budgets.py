"""Engine-wide budgets: autonomous actions past the sliding window's budget wait for approval,
on the real worker, Temporal dev server, emulator and audit stores."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from riposte.audit.events import AuditFilter, AuditKind
from riposte.audit.store import open_store
from riposte.budget.ledger import open_ledger
from riposte.budget.models import BudgetLimits, BudgetRequest
from riposte.response import ActionState
from riposte.settings import Guardrails
from tests.plugins.temporal import StackFactory
from tests.responses import all_in, takeover_alert, wait_for
from worker import run_worker

EVERYTHING = """
name: near-everything
match: {not: {source: __never__}, entities: [user]}
mode: autonomous
actions: [disable_sign_in, revoke_sessions]
"""
NAMES = "adele ben chris dana eli frank grace hana ivan julia kai lena marco nina omar priya"
USERS = [f"{name}@contoso.com" for name in NAMES.split()]
SETTLED = (ActionState.EXECUTED, ActionState.PENDING_APPROVAL, ActionState.FAILED)


def everything_alert(n: int) -> object:
    return takeover_alert(USERS[n % len(USERS)], score=0.0, severity="low", name=f"noise {n}")


async def test_a_near_everything_policy_executes_at_most_the_budget(
    make_stack: StackFactory,
) -> None:
    """30 alerts under an autonomous match-everything policy execute at most 10 of each action
    (the default budget); every other action waits for approval, audited `budget_exceeded`,
    and none is lost."""
    stack = await make_stack({"near-everything": EVERYTHING})
    rids = [(await stack.service.submit(everything_alert(n))).response_id for n in range(30)]
    views = [await wait_for(stack.service, rid, all_in(*SETTLED), within=120) for rid in rids]
    states = Counter((a.action.value, a.state) for v in views for a in v.actions)
    assert states[("disable_sign_in", ActionState.EXECUTED)] == 10
    assert states[("revoke_sessions", ActionState.EXECUTED)] == 10
    assert states[("disable_sign_in", ActionState.PENDING_APPROVAL)] == 20
    assert states[("revoke_sessions", ActionState.PENDING_APPROVAL)] == 20
    assert sum(states.values()) == 60
    exceeded = stack.store.query(AuditFilter(kind=AuditKind.BUDGET_EXCEEDED))
    assert len(exceeded) == 40
    assert all("10 of 10" in e.detail and e.mode == "autonomous" for e in exceeded)
    waiting = [a for v in views for a in v.actions if a.state is ActionState.PENDING_APPROVAL]
    assert all(a.over_budget.startswith("over budget") for a in waiting)


async def test_the_total_budget_holds_across_actions(make_stack: StackFactory) -> None:
    """With a total budget of 3 and no per-action one, 3 actions run in all."""
    guard = Guardrails(budget_per_action=None, budget_total=3)
    stack = await make_stack({"near-everything": EVERYTHING}, guardrails=guard)
    rids = [(await stack.service.submit(everything_alert(n))).response_id for n in range(3)]
    views = [await wait_for(stack.service, rid, all_in(*SETTLED)) for rid in rids]
    executed = [a for v in views for a in v.actions if a.state is ActionState.EXECUTED]
    assert len(executed) == 3
    exceeded = stack.store.query(AuditFilter(kind=AuditKind.BUDGET_EXCEEDED))
    assert len(exceeded) == 3 and all("all actions: 3 of 3" in e.detail for e in exceeded)


async def test_two_workers_share_one_budget(
    make_stack: StackFactory, temporal_client: Client, postgres_url: str
) -> None:
    """Two workers on one queue and one PostgreSQL audit store spend one budget between them."""
    guard = Guardrails(budget_per_action=4, budget_total=None)
    stack = await make_stack(
        {"near-everything": EVERYTHING}, guardrails=guard, audit_url=postgres_url
    )
    stop = asyncio.Event()
    other = await Client.connect(  # a worker of its own process would have its own client
        temporal_client.service_client.config.target_host,
        namespace=temporal_client.namespace,
        data_converter=pydantic_data_converter,
    )
    second = asyncio.create_task(run_worker(other, stack.settings, stop=stop))
    try:
        rids = [(await stack.service.submit(everything_alert(n))).response_id for n in range(8)]
        views = [await wait_for(stack.service, rid, all_in(*SETTLED)) for rid in rids]
    finally:
        stop.set()
        await asyncio.wait_for(second, 60)
    states = Counter((a.action.value, a.state) for v in views for a in v.actions)
    assert states[("disable_sign_in", ActionState.EXECUTED)] == 4
    assert states[("revoke_sessions", ActionState.EXECUTED)] == 4
    assert states[("disable_sign_in", ActionState.PENDING_APPROVAL)] == 4


async def test_passive_actions_spend_no_budget(make_stack: StackFactory) -> None:
    """Simulated actions never reach the ledger, whatever their number."""
    passive = EVERYTHING.replace("mode: autonomous", "mode: passive")
    stack = await make_stack({"near-everything": passive}, guardrails=Guardrails(budget_total=1))
    rids = [(await stack.service.submit(everything_alert(n))).response_id for n in range(3)]
    for rid in rids:
        await wait_for(stack.service, rid, all_in(ActionState.SIMULATED))
    assert stack.store.query(AuditFilter(kind=AuditKind.BUDGET_EXCEEDED)) == []
    ledger = open_ledger(stack.settings.audit_store_url)
    now = datetime.now(UTC)
    grant = ledger.spend(
        BudgetRequest(response_id="r", action_id="r:a1", action="disable_sign_in"),
        BudgetLimits(total=1),
        now,
    )
    ledger.close()
    assert grant.granted and grant.spent_total == 1


@pytest.mark.usefixtures("audit_store")
def test_a_spend_is_idempotent_slides_and_survives_a_restart(audit_url: str) -> None:
    """Asking twice under one action id spends once; spends older than the window no longer
    count; a new ledger on the same database sees the same spends."""
    limits = BudgetLimits(per_action=2, total=None, window_seconds=3600)
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)

    def ask(ledger_url: str, n: int, at: datetime) -> bool:
        ledger = open_ledger(ledger_url)
        try:
            request = BudgetRequest(response_id="r", action_id=f"r:a{n}", action="block_ports")
            return ledger.spend(request, limits, at).granted
        finally:
            ledger.close()

    assert ask(audit_url, 1, start) and ask(audit_url, 1, start)  # a retry: still one spend
    assert ask(audit_url, 2, start + timedelta(minutes=1))
    assert not ask(audit_url, 3, start + timedelta(minutes=2))  # 2 of 2, after a "restart"
    assert not ask(audit_url, 3, start + timedelta(hours=2))  # a refusal is kept, too
    assert ask(audit_url, 4, start + timedelta(minutes=61))  # the first spend slid out


def test_the_ledger_lives_in_the_audit_stores_database(tmp_path: Path) -> None:
    """Opening the audit store creates the ledger's table (migration 0004)."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    open_store(url).close()
    ledger = open_ledger(url)
    request = BudgetRequest(response_id="r", action_id=str(uuid.uuid4()), action="x")
    assert ledger.spend(request, BudgetLimits(), datetime.now(UTC)).granted
    ledger.close()


async def test_past_its_budget_an_action_never_runs_on_the_policy_timeout(
    make_stack: StackFactory,
) -> None:
    """A budget asked a human: `on_timeout: execute` does not stand in for one. Under a budget
    of 1, the second alert's action expires unanswered instead of running."""
    policy = EVERYTHING.replace(
        "actions: [disable_sign_in, revoke_sessions]",
        "actions: [revoke_sessions]\napproval: {timeout: 2s, on_timeout: execute}",
    )
    guard = Guardrails(budget_per_action=1, budget_total=None)
    stack = await make_stack({"near-everything": policy}, guardrails=guard)
    rids = [(await stack.service.submit(everything_alert(n))).response_id for n in range(2)]
    done = all_in(ActionState.EXECUTED, ActionState.EXPIRED)
    views = [await wait_for(stack.service, rid, done) for rid in rids]
    states = sorted(v.actions[0].state.value for v in views)  # either may spend the budget
    assert states == [ActionState.EXECUTED.value, ActionState.EXPIRED.value]
    expired = stack.store.query(AuditFilter(kind=AuditKind.APPROVAL_EXPIRED))
    assert [e.detail for e in expired] == ["nobody answered; no action taken"]
