"""Tenant actions under a real Temporal worker: its retry policy is the one retry layer.

The workflow here is a test harness that runs one action activity with a short retry policy;
it runs unsandboxed because it only forwards its input (the product's workflows are sandboxed).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.tenant import TenantActivities, tenant_activities
from activities.testing import action_input
from riposte.actions.catalogue import CATALOGUE, activity_refs
from riposte.actions.payloads import ActionInput, ActionName, ActionResult
from riposte.failures import FailureType
from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam

BEN = "ben@contoso.com"


@workflow.defn(name="RunOneTenantAction")
class RunOneTenantAction:
    @workflow.run
    async def run(self, request: ActionInput) -> ActionResult:
        return await workflow.execute_activity(
            CATALOGUE[request.action].act.name,
            request,
            result_type=ActionResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100), maximum_attempts=4
            ),
        )


@pytest.fixture
async def acts(tenant: TenantSettings) -> AsyncIterator[TenantActivities]:
    async with tenant_activities(tenant) as activities:
        yield activities


async def run_action(
    client: Client, acts: TenantActivities, request: ActionInput
) -> tuple[ActionResult, str]:
    queue = f"actions-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[RunOneTenantAction],
        activities=list(acts),
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await client.start_workflow(
            RunOneTenantAction.run, request, id=f"wf-{uuid.uuid4()}", task_queue=queue
        )
        return await handle.result(), handle.id


async def test_the_worker_waits_as_long_as_retry_after_says(
    temporal_client: Client, acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """After a 429 with Retry-After: 2 the next attempt starts 2s later, not after 100ms."""
    emulator_seam.add_fault(route="graph.users.patch", status=429, retry_after=2, count=1)
    request = action_input(ActionName.DISABLE_SIGN_IN, BEN)
    result, workflow_id = await run_action(temporal_client, acts, request)

    assert result.changed
    assert result.revert.was_enabled is True
    assert emulator_seam.state()["users"][BEN]["accountEnabled"] is False
    history = await temporal_client.get_workflow_handle(workflow_id).fetch_history()
    scheduled = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    started = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    )
    attributes = started.activity_task_started_event_attributes
    assert attributes.attempt == 2
    assert attributes.last_failure.application_failure_info.type == FailureType.TRANSIENT
    waited = started.event_time.ToDatetime() - scheduled.event_time.ToDatetime()
    assert waited >= timedelta(seconds=1.9)


async def test_a_retry_after_a_partial_delete_still_saves_every_rule(
    temporal_client: Client, acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """When the 2nd DELETE fails, the retry reads the heartbeat and still saves both rules."""
    rss = next(
        r for r in emulator_seam.state()["inbox_rules"][BEN] if r["displayName"] == "RSS Feeds"
    )
    emulator_seam.add_fault(route=f"DELETE */messageRules/{rss['id']}", status=503, count=1)
    request = action_input(ActionName.DELETE_INBOX_RULES, BEN)
    result, _ = await run_action(temporal_client, acts, request)

    assert [saved.rule["displayName"] for saved in result.revert.rules] == [".", "RSS Feeds"]
    left = [rule["displayName"] for rule in emulator_seam.state()["inbox_rules"][BEN]]
    assert "." not in left and "RSS Feeds" not in left


def test_every_action_and_revert_activity_is_registered(acts: TenantActivities) -> None:
    """The worker list holds exactly the activities the catalogue names, each once."""
    registered = [fn.__temporal_activity_definition.name for fn in acts]  # type: ignore[attr-defined]
    assert registered == [ref.name for ref in activity_refs()]
    assert {"disable_sign_in", "enable_sign_in", "unblock"} <= set(registered)
