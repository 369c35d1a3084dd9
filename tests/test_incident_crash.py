"""A worker killed mid-incident, with alerts arriving while it is down, loses nothing."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from riposte.response import ActionState
from riposte.service import ResponseService
from riposte.settings import TenantSettings
from tests.incident_policies import CAMPAIGN, TAKEOVER
from tests.incidents import incident_of
from tests.plugins.temporal import write_policies
from tests.responses import all_in, takeover_alert, wait_for
from tests.workers import start_worker, worker_env

ACCOUNTS = [f"{name}@contoso.com" for name in ("adele", "ben", "chris", "dana", "eli")]


async def test_a_worker_killed_mid_incident_loses_no_alert_and_no_escalation(
    temporal_env: WorkflowEnvironment, tenant: TenantSettings, emulator_seam: Any, tmp_path: Path
) -> None:
    """SIGKILL while the incident has two accounts; three more alerts join while no worker
    runs; the restarted worker's incident holds all five, and every account is contained
    under the escalation without a human decision."""
    queue = f"incident-crash-{uuid.uuid4()}"
    policies = write_policies(
        tmp_path / "policies", {"m365-account-takeover": TAKEOVER, "m365-campaign": CAMPAIGN}
    )
    (tmp_path / "data").mkdir()
    env = worker_env(temporal_env, tenant, tmp_path / "data", policies, queue)
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    service = ResponseService(temporal_env.client, queue)
    try:
        ids = [(await service.submit(takeover_alert(u))).response_id for u in ACCOUNTS[:2]]
        await incident_of(service.incidents, ids[0], alerts=2)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        ids += [(await service.submit(takeover_alert(u))).response_id for u in ACCOUNTS[2:]]
        worker = start_worker(env, log)
        incident = await incident_of(service.incidents, ids[0], alerts=5, within=120)
        for rid in ids:
            await wait_for(service, rid, all_in(ActionState.EXECUTED), within=120)
    finally:
        worker.kill()
        worker.wait()
    assert incident.accounts == tuple(ACCOUNTS)
    assert set(ids) <= set(incident.responses)
    users = emulator_seam.state()["users"]
    assert all(users[u]["accountEnabled"] is False for u in ACCOUNTS)
