"""The engine runs inside Temporal's workflow sandbox, imported the way workflow code imports it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from riposte.alerts import Alert
    from riposte.model import Frozen
    from riposte.policy.engine import PolicySnapshot, ResponsePlan, evaluate
    from riposte.policy.models import Policy
    from riposte.policy.snapshot import SnapshotPolicy


class EvaluateInput(Frozen):
    alert: Alert
    snapshot: PolicySnapshot


@workflow.defn(name="EvaluateInSandbox")
class EvaluateInSandbox:
    @workflow.run
    async def run(self, request: EvaluateInput) -> ResponsePlan:
        return evaluate(request.alert, request.snapshot, workflow.info().workflow_id)


async def test_evaluate_runs_in_the_workflow_sandbox(temporal_client: Client) -> None:
    """RE2 globs and regexes, CIDR exclusions and the plan all work in sandboxed workflow code."""
    policy = Policy.model_validate(
        {
            "name": "p",
            "match": {"name": "SaaS / *", "name_regex": "(?i)login", "entities": ["user", "ip"]},
            "mode": "autonomous",
            "actions": ["disable_sign_in", "block_outbound"],
            "exclude": {"ips": ["10.0.0.0/8"]},
        }
    )
    alert = Alert.model_validate(
        {
            "id": "1",
            "source": "darktrace",
            "name": "SaaS::Access::Unusual Login",
            "severity": "high",
            "score": 0.9,
            "time": "2021-06-09T09:12:00Z",
            "entities": {"user": "ben@contoso.com", "ip": "10.8.0.25"},
        }
    )
    snapshot = PolicySnapshot(policies=(SnapshotPolicy(policy=policy, hash="h"),))
    queue = f"policy-sandbox-{uuid.uuid4()}"
    async with Worker(temporal_client, task_queue=queue, workflows=[EvaluateInSandbox]):
        plan = await temporal_client.execute_workflow(
            EvaluateInSandbox.run,
            EvaluateInput(alert=alert, snapshot=snapshot),
            id=f"sandbox-{uuid.uuid4()}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=30),
        )
    assert plan == evaluate(alert, snapshot, plan.actions[0].action_id.rsplit(":", 1)[0])
    assert [(a.action.value, a.excluded_reason) for a in plan.actions] == [
        ("disable_sign_in", ""),
        ("block_outbound", "policy p excludes 10.0.0.0/8, which holds 10.8.0.25"),
    ]
