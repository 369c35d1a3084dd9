"""A worker killed with SIGKILL mid-response, then restarted, finishes it exactly once."""

from __future__ import annotations

import signal
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from riposte.audit.events import AuditFilter, AuditKind
from riposte.audit.store import open_store
from riposte.response import ActionState
from riposte.service import ResponseService
from riposte.settings import TenantSettings
from tests.eventually import eventually
from tests.plugins.temporal import write_policies
from tests.responses import HIJACKED, all_in, takeover_alert, takeover_policy, wait_for
from tests.workers import start_worker, worker_env, workers_store


async def test_killed_worker_resumes_without_losing_or_repeating_a_step(
    temporal_env: WorkflowEnvironment,
    tenant: TenantSettings,
    emulator_seam: Any,
    tmp_path: Path,
) -> None:
    """SIGKILL after the first action lands: the restarted worker completes every action, and the
    emulator counts each side effect once."""
    queue = f"crash-{uuid.uuid4()}"
    policies = write_policies(
        tmp_path / "policies", {"m365-account-takeover": takeover_policy("autonomous")}
    )
    env = worker_env(temporal_env, tenant, tmp_path / "data", policies, queue)
    (tmp_path / "data").mkdir()
    # Slow every Graph write so the kill lands while the response is mid-way.
    for route in (
        "graph.users.patch",
        "graph.users.revoke_sessions",
        "graph.mail.rules.delete",
        "graph.mail.messages.move",
    ):
        # Slow, but not so slow that an attempt outlives its 30 s start-to-close timeout (the
        # quarantine moves 15 messages): a timed-out attempt would run beside its retry.
        emulator_seam.add_fault(route=route, latency_ms=600)
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    service = ResponseService(temporal_env.client, queue)
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'audit.db'}")
    try:
        rid = (await service.submit(takeover_alert())).response_id
        await eventually(
            lambda: store.query(AuditFilter(response_id=rid, kind=AuditKind.EXECUTED)),
            within=30,
            every=0.05,
            what="a first executed action",
        )
        executed_before_kill = len(
            store.query(AuditFilter(response_id=rid, kind=AuditKind.EXECUTED))
        )
        assert 1 <= executed_before_kill < 4, log.read_text()[-2000:]
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        worker = start_worker(env, log)
        view = await wait_for(service, rid, all_in(ActionState.EXECUTED), within=120)
    finally:
        worker.kill()
        worker.wait()
    assert len(view.actions) == 4
    kinds = [e.kind for e in store.query(AuditFilter(response_id=rid))]
    assert kinds.count(AuditKind.EXECUTED) == 4
    with closing(workers_store(tmp_path / "data")) as keyed:
        assert keyed.verify().ok
    applied = emulator_seam.effects()
    assert applied["PATCH /v1.0/users/{id}"] == 1
    assert applied["POST /v1.0/users/{id}/revokeSignInSessions"] == 1
    assert applied["DELETE /v1.0/users/{id}/mailFolders/{folder}/messageRules/{rule}"] == 2
    quarantine = next(a for a in view.actions if a.action.value == "quarantine_mail")
    assert quarantine.result is not None and quarantine.result.revert.moved
    moves = applied["POST /v1.0/users/{id}/messages/{message}/move"]
    assert moves == len(quarantine.result.revert.moved)
    assert emulator_seam.state()["users"][HIJACKED]["accountEnabled"] is False
    store.close()
