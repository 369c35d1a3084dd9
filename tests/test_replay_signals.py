"""A signal that arrives while the policy snapshot is being taken replays as it ran live.

The snapshot was a local activity, whose result the SDK may resolve on replay in a later
activation than it did live (temporalio/sdk-python#1881), together with signals that came after
it live, and signals are applied first: `incident_joined` or `escalate` could then be seen
before the join wait or the first action where live they came after, and the commands differ
(one CI run failed a query with "Timer fired event did not have expected timer id 2, it was
1"). The snapshot is a regular activity now (patch `snapshot-as-activity`), its result a
history event ordered with the signals alike live and on replay. This test holds the snapshot
for a second, sends the join meanwhile on the real dev server, and replays the history; it
did not reproduce the intermittent failure on the local activity deterministically, so it
guards the ordering rather than proving the old failure.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker

from activities.audit import AuditActivities
from activities.policy import PolicyActivities
from riposte.audit.store import open_store
from riposte.incidents.models import Membership
from riposte.policy.snapshot import SNAPSHOT_POLICIES, PolicySnapshot, SnapshotRequest
from riposte.response import RespondInput, ResponseStatus
from riposte.settings import Settings
from tests.plugins.temporal import write_policies
from tests.responses import network_policy, takeover_alert
from workflows.respond_to_alert import RespondToAlert
from workflows.track_incident import TrackIncident


async def test_a_join_signalled_during_the_snapshot_replays(
    temporal_client: Client, tmp_path: Path
) -> None:
    """The response learns its incident while its snapshot is still being taken; it completes,
    and its history replays on the same code without a non-determinism error."""
    settings = Settings(
        data_dir=tmp_path,
        policies_dir=write_policies(
            tmp_path / "policies", {"network-lateral-movement": network_policy("passive")}
        ),
    )
    policies = PolicyActivities(settings)
    taking = asyncio.Event()

    @activity.defn(name=SNAPSHOT_POLICIES.name)
    async def slow_snapshot(request: SnapshotRequest) -> PolicySnapshot:
        taking.set()
        await asyncio.sleep(1)  # the signal lands meanwhile
        return await policies.snapshot_policies(request)

    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    queue = f"replay-signals-{uuid.uuid4()}"
    worker = Worker(
        temporal_client,
        task_queue=queue,
        workflows=[RespondToAlert],
        activities=[slow_snapshot, AuditActivities(store).record_audit],
    )
    alert = takeover_alert()  # no policy matches it: the response only audits
    async with worker:
        handle = await temporal_client.start_workflow(
            RespondToAlert.run,
            RespondInput(alert=alert, joins_incident=True),
            id=f"{alert.key}-{uuid.uuid4().hex[:6]}",
            task_queue=queue,
        )
        await asyncio.wait_for(taking.wait(), 30)
        await handle.signal("incident_joined", Membership(incident_id="ip:198.51.100.7:1"))
        view = await asyncio.wait_for(handle.result(), 60)
    store.close()
    assert view.status is ResponseStatus.COMPLETED and view.incident_id == "ip:198.51.100.7:1"
    history = await handle.fetch_history()
    replayer = Replayer(
        workflows=[RespondToAlert, TrackIncident], data_converter=pydantic_data_converter
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
