"""Shared blocks and the reconciler on the real stack: Temporal dev server, worker, emulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.clients import connect as connect_tenant
from activities.nsg_access import NsgAccess
from activities.reconcile import Reconciler, temporal_liveness
from activities.sign_in_block import SignInBlockActivities
from riposte.audit.events import AuditKind
from riposte.cli import run
from riposte.holders.ledger import Ledger
from riposte.holders.report import FindingKind, ReconcileReport, ReconcileRequest
from riposte.response import ActionState
from riposte.schedules import schedule_id
from riposte.settings import TenantSettings
from tests.eventually import eventually
from tests.plugins.temporal import Stack, StackFactory
from tests.responses import scan_alert, wait_for
from tests.test_respond_modes import deny_rules

OUTBOUND_POLICY = """
name: network-lateral-movement
match: {{source: darktrace, entities: [ip]}}
mode: autonomous
actions: [block_outbound]
duration: {duration}
"""


async def reconcile(stack: Stack, client: Client, *, dry_run: bool = False) -> ReconcileReport:
    """One reconciler pass, built as the worker builds it."""
    settings = stack.settings
    tenant = connect_tenant(settings.tenant)
    ledger = Ledger(settings.audit_store_url)
    named_locations = SignInBlockActivities(
        tenant.graph, settings.tenant, settings.protected_users, ledger
    )
    try:
        reconciler = Reconciler(
            temporal_liveness(client),
            NsgAccess(tenant.network),
            settings.tenant,
            ledger,
            stack.store,
            ranges=named_locations,
        )
        return await reconciler.run(ReconcileRequest(dry_run=dry_run))
    finally:
        ledger.close()
        await tenant.close()


def executed(view: Any) -> bool:
    return bool(view.actions) and all(a.state is ActionState.EXECUTED for a in view.actions)


async def test_a_terminated_response_loses_its_rule_to_the_reconciler(
    make_stack: StackFactory, emulator_seam: Any, temporal_client: Client
) -> None:
    """A response terminated from outside keeps its rule until the reconciler removes it."""
    stack = await make_stack({"network-lateral-movement": OUTBOUND_POLICY.format(duration="2h")})
    rid = (await stack.service.submit(scan_alert())).response_id
    await wait_for(stack.service, rid, executed)
    (rule,) = deny_rules(emulator_seam.state())
    assert (await reconcile(stack, temporal_client)).findings == ()  # a live response holds it

    await temporal_client.get_workflow_handle(rid).terminate(reason="test: from outside")
    assert deny_rules(emulator_seam.state()) == [rule]
    view = await stack.service.view(rid)
    assert all(a.revert_at is None for a in view.actions), "a gone response reverts nothing"

    dry = await reconcile(stack, temporal_client, dry_run=True)
    assert [f.kind for f in dry.findings] == [FindingKind.DELETED_RULE]
    assert deny_rules(emulator_seam.state()) == [rule]
    report = await reconcile(stack, temporal_client)
    (finding,) = report.findings
    assert (finding.kind, finding.item, finding.response_id) == (
        FindingKind.DELETED_RULE,
        rule["name"],
        rid,
    )
    assert deny_rules(emulator_seam.state()) == []
    (event,) = stack.audit(rid, AuditKind.RECONCILED)
    assert "terminated" in event.detail and rule["name"] in event.detail
    assert (await reconcile(stack, temporal_client)).findings == ()  # idempotent
    assert len(stack.audit(rid, AuditKind.RECONCILED)) == 1


async def test_two_overlapping_responses_hold_one_rule_until_the_later_ends(
    make_stack: StackFactory, emulator_seam: Any
) -> None:
    """Two blocks of one IP share one rule; it outlives the earlier and goes with the later."""
    stack = await make_stack({"network-lateral-movement": OUTBOUND_POLICY.format(duration="5s")})
    first = (await stack.service.submit(scan_alert())).response_id
    await wait_for(stack.service, first, executed)
    await asyncio.sleep(2)
    second = (await stack.service.submit(scan_alert())).response_id
    await wait_for(stack.service, second, executed)
    assert len(deny_rules(emulator_seam.state())) == 1

    reverted = lambda v: all(a.state is ActionState.REVERTED for a in v.actions)  # noqa: E731
    await wait_for(stack.service, first, reverted)
    assert len(deny_rules(emulator_seam.state())) == 1, "the later response still holds it"
    (early,) = stack.audit(first, AuditKind.REVERTED)
    assert f"kept for 1 other response ({second})" in early.detail
    await wait_for(stack.service, second, reverted)
    assert deny_rules(emulator_seam.state()) == []
    (late,) = stack.audit(second, AuditKind.REVERTED)
    assert "deleted riposte-" in late.detail


async def test_the_worker_creates_its_reconcile_schedule(
    make_stack: StackFactory, temporal_client: Client
) -> None:
    """Starting a worker leaves a Schedule that runs ReconcileBlocks on its task queue."""
    stack = await make_stack({})
    handle = temporal_client.get_schedule_handle(schedule_id(stack.settings.task_queue))
    described = await eventually(  # the worker starts in the background
        handle.describe, within=10, what="the worker's reconcile schedule", retry_on=(RPCError,)
    )
    action = described.schedule.action
    assert getattr(action, "workflow", None) == "ReconcileBlocks"
    await handle.delete()


def test_the_reconcile_command_reports_as_json(
    tenant: TenantSettings,
    temporal_env: WorkflowEnvironment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    emulator_seam: Any,
) -> None:
    """`riposte reconcile --dry-run --format json` prints the report alone and exits 0."""
    data = tmp_path / "data"
    data.mkdir()
    address = temporal_env.client.service_client.config.target_host
    (data / "stack.json").write_text(json.dumps({"temporal": address}))
    tenant_json = tenant.model_dump(mode="json")
    secret = tenant.client_secret
    tenant_json["client_secret"] = secret.get_secret_value() if secret else None
    monkeypatch.setenv("RIPOSTE_TENANT", json.dumps(tenant_json))
    code = run(["reconcile", "--dry-run", "--format", "json", "--data-dir", str(data)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report == {"dry_run": True, "findings": [], "live_blocks": 0}


SIGN_IN_POLICY = """
name: attacker-sign-ins
match: {source: darktrace, entities: [ip]}
mode: autonomous
actions: [block_sign_in_from: {prefix: 32}]
duration: 2h
"""
LOCATION = "Riposte blocked sign-ins"


async def test_a_terminated_response_loses_its_sign_in_range_to_the_reconciler(
    make_stack: StackFactory, emulator_seam: Any, temporal_client: Client
) -> None:
    """The named-location range of a response terminated from outside is removed and audited."""
    stack = await make_stack({"attacker-sign-ins": SIGN_IN_POLICY})
    rid = (await stack.service.submit(scan_alert("198.51.100.7"))).response_id
    await wait_for(stack.service, rid, executed)
    ranges = lambda: emulator_seam.state()["named_locations"].get(LOCATION, {}).get("ipRanges")  # noqa: E731
    assert ranges() == ["198.51.100.7/32"]
    await temporal_client.get_workflow_handle(rid).terminate(reason="test: from outside")

    report = await reconcile(stack, temporal_client)
    (finding,) = report.findings
    assert (finding.kind, finding.item, finding.response_id) == (
        FindingKind.REMOVED_RANGE,
        "198.51.100.7/32",
        rid,
    )
    assert not ranges()
    (event,) = stack.audit(rid, AuditKind.RECONCILED)
    assert "198.51.100.7/32" in event.detail and "terminated" in event.detail
