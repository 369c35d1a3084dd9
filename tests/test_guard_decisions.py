"""Who may decide: bound senders, separation of duties, M-of-N approvals and the CLI's identity,
on the real worker, Temporal dev server and tenant emulator."""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from riposte.api.server import listening
from riposte.api.tokens import Role
from riposte.audit.events import AuditFilter, AuditKind
from riposte.cli import run
from tenant_emulator.client import EmulatorSeam
from tests.eventually import eventually
from tests.incident_policies import CAMPAIGN
from tests.incidents import incident_of
from tests.plugins.api import ApiFactory, ApiHarness
from tests.responses import HIJACKED, network_policy, scan_alert, takeover_alert, takeover_policy


def pending(view: dict[str, Any]) -> bool:
    return bool(view["actions"]) and all(a["state"] == "pending_approval" for a in view["actions"])


def action_of(view: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in view["actions"] if a["action"] == name)


async def send_as(api: ApiHarness, token: str, alert: dict[str, Any]) -> Any:
    return await api.http.post(
        "/v1/alerts", json=alert, headers={"Authorization": f"Bearer {token}"}
    )


async def test_a_sender_bound_to_defender_cannot_claim_darktrace(make_api: ApiFactory) -> None:
    """A sender token bound to `defender` gets 403 for a `darktrace` alert, audited as denied,
    and starts nothing; a token bound to `darktrace` is accepted and named on alert_received."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    defender = api.tokens.create(Role.SENDER, "defender-feed", sources=("defender",))
    darktrace = api.tokens.create(Role.SENDER, "darktrace-feed", sources=("darktrace",))
    alert = scan_alert().model_dump(mode="json")

    refused = await send_as(api, defender, alert)
    assert refused.status_code == 403
    assert "defender" in refused.json()["message"] and "darktrace" in refused.json()["message"]
    [denied] = [e for e in api.denied() if e.actor == "defender-feed"]
    assert "first: 403 claimed source darktrace" in denied.detail
    assert api.stack.store.query(AuditFilter(kind=AuditKind.ALERT_RECEIVED)) == []

    accepted = await send_as(api, darktrace, alert)
    assert accepted.status_code == 202
    rid = accepted.json()["response_id"]
    await api.wait_for(rid, lambda v: bool(v["matched"]))  # shown once audited
    [received] = api.stack.audit(rid, AuditKind.ALERT_RECEIVED)
    assert received.actor == "darktrace-feed"


async def test_the_admin_who_sent_an_alert_may_not_approve_it(make_api: ApiFactory) -> None:
    """An admin that sent the alert gets 403 saying why on approve and reject (audited denied);
    another principal's approval goes through."""
    api = await make_api({"network-lateral-movement": network_policy("human-confirm")})
    answer = await send_as(api, api.token[Role.ADMIN], scan_alert().model_dump(mode="json"))
    rid = answer.json()["response_id"]
    view = await api.wait_for(rid, pending)
    block = action_of(view, "block_ports")["action_id"]

    own = await api.http.post(f"/v1/approvals/{block}/approve", headers=api.auth(Role.ADMIN))
    assert own.status_code == 403
    assert "sent this alert" in own.json()["message"]
    own_reject = await api.http.post(
        f"/v1/approvals/{block}/reject", json={"reason": "x"}, headers=api.auth(Role.ADMIN)
    )
    assert own_reject.status_code == 403
    [denied] = [e for e in api.denied() if e.actor == api.name(Role.ADMIN)]
    assert denied.detail.startswith("2 refused") and "sent this alert" in denied.detail

    other = await api.http.post(f"/v1/approvals/{block}/approve", headers=api.auth(Role.APPROVER))
    assert other.status_code == 200 and other.json()["state"] == "executed"
    [received] = api.stack.audit(rid, AuditKind.ALERT_RECEIVED)
    assert received.actor == api.name(Role.ADMIN)


M_OF_N = "approval: {approvers: 2, timeout: 4h}"


async def test_two_of_n_approvals_by_distinct_principals(
    make_api: ApiFactory, emulator_seam: EmulatorSeam
) -> None:
    """With `approvers: 2`, one approval leaves the action pending ("1 of 2 approvals"), the
    same principal again gets 409, a second principal's approval runs it, and each approval is
    audited; one rejection rejects another action outright."""
    policy = takeover_policy("human-confirm", extra=M_OF_N)
    api = await make_api({"m365-account-takeover": policy})
    answer = await api.post_alert(takeover_alert().model_dump(mode="json"))
    rid = answer.json()["response_id"]
    view = await api.wait_for(rid, pending)
    disable = action_of(view, "disable_sign_in")["action_id"]
    revoke = action_of(view, "revoke_sessions")["action_id"]

    first = await api.http.post(
        f"/v1/approvals/{disable}/approve", json={"comment": "ok"}, headers=api.auth(Role.APPROVER)
    )
    assert first.status_code == 200
    assert first.json()["state"] == "pending_approval"
    assert first.json()["approved_by"] == [api.name(Role.APPROVER)]
    assert emulator_seam.state()["users"][HIJACKED]["accountEnabled"] is True

    again = await api.http.post(f"/v1/approvals/{disable}/approve", headers=api.auth(Role.APPROVER))
    assert again.status_code == 409 and again.json()["state"] == "pending_approval"

    second = await api.http.post(f"/v1/approvals/{disable}/approve", headers=api.auth(Role.ADMIN))
    assert second.status_code == 200 and second.json()["state"] == "executed"
    assert emulator_seam.state()["users"][HIJACKED]["accountEnabled"] is False
    approvals = [e for e in api.stack.audit(rid, AuditKind.APPROVED) if e.action_id == disable]
    assert [e.actor for e in approvals] == [api.name(Role.APPROVER), api.name(Role.ADMIN)]
    assert "approval 1 of 2" in approvals[0].detail and "approval 2 of 2" in approvals[1].detail

    rejected = await api.http.post(
        f"/v1/approvals/{revoke}/reject", json={"reason": "no"}, headers=api.auth(Role.APPROVER)
    )
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"


async def test_show_says_how_many_approvals_an_action_has(
    make_api: ApiFactory,
    temporal_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`riposte show` prints "1 of 2 approvals" for an action one principal approved."""
    policy = network_policy("human-confirm", extra=M_OF_N)
    api = await make_api({"network-lateral-movement": policy})
    rid = (await api.post_alert(scan_alert().model_dump(mode="json"))).json()["response_id"]
    view = await api.wait_for(rid, pending)
    block = action_of(view, "block_ports")["action_id"]
    await api.http.post(f"/v1/approvals/{block}/approve", headers=api.auth(Role.APPROVER))
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_client.service_client.config.target_host)
    code = await asyncio.to_thread(run, ["show", rid])
    assert code == 0
    assert f"1 of 2 approvals ({api.name(Role.APPROVER)})" in capsys.readouterr().out


async def test_a_cli_decision_without_a_token_is_the_clis_own_and_flagged(
    make_api: ApiFactory,
    temporal_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`riposte approve` with no token is recorded as cli:<os user>, flagged unauthenticated in
    the audit and the view; `--by` no longer exists."""
    api = await make_api({"network-lateral-movement": network_policy("human-confirm")})
    rid = (await api.post_alert(scan_alert().model_dump(mode="json"))).json()["response_id"]
    view = await api.wait_for(rid, pending)
    block = action_of(view, "block_ports")["action_id"]
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_client.service_client.config.target_host)
    monkeypatch.delenv("RIPOSTE_TOKEN", raising=False)
    with pytest.raises(SystemExit):
        await asyncio.to_thread(run, ["approve", block, "--by", "alice.ciso"])
    capsys.readouterr()
    code = await asyncio.to_thread(run, ["approve", block, "--format", "json"])
    assert code == 0
    out = capsys.readouterr()
    shown = json.loads(out.out[out.out.index("{\n") :])  # the worker here logs to stdout too
    me = f"cli:{getpass.getuser()}"
    assert (shown["decided_by"], shown["decided_unauthenticated"]) == (me, True)
    assert "unauthenticated" in out.err
    [approved] = api.stack.audit(rid, AuditKind.APPROVED)
    assert approved.actor == me and "unauthenticated CLI decision" in approved.detail


async def test_a_cli_decision_with_a_token_goes_through_the_api_as_its_holder(
    make_api: ApiFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`riposte approve --token-file F --api URL` and `riposte reject` with RIPOSTE_TOKEN decide
    through the API as the token's holder, recorded as authenticated."""
    api = await make_api({"network-lateral-movement": network_policy("human-confirm")})
    rid = (await api.post_alert(scan_alert().model_dump(mode="json"))).json()["response_id"]
    view = await api.wait_for(rid, pending)
    block = action_of(view, "block_ports")["action_id"]
    outbound = action_of(view, "block_outbound")["action_id"]
    monkeypatch.delenv("RIPOSTE_TOKEN", raising=False)
    approver = tmp_path / "approver.token"
    approver.write_text(api.token[Role.APPROVER] + "\n")
    async with listening(api.app, "127.0.0.1", 0) as base:
        done = await asyncio.to_thread(
            run, ["approve", block, "--token-file", str(approver), "--api", base]
        )
        monkeypatch.setenv("RIPOSTE_TOKEN", api.token[Role.ADMIN])
        rejected = await asyncio.to_thread(
            run, ["reject", outbound, "--reason", "drill", "--api", base]
        )
    assert (done, rejected) == (0, 0)
    approved = [e for e in api.stack.audit(rid, AuditKind.APPROVED) if e.action_id == block]
    assert [e.actor for e in approved] == [api.name(Role.APPROVER)]
    assert "unauthenticated" not in approved[0].detail
    [refusal] = api.stack.audit(rid, AuditKind.REJECTED)
    assert refusal.actor == api.name(Role.ADMIN)


async def test_who_sent_an_incidents_alerts_may_not_decide_on_what_the_incident_asks(
    make_api: ApiFactory,
) -> None:
    """The admin that sent two alerts of one campaign gets 403 on the incident's own response
    (its sign-in block, in human-confirm); an approver's decision goes through."""
    campaign = CAMPAIGN.replace("mode: autonomous\nactions:", "mode: human-confirm\nactions:")
    api = await make_api(
        {"m365-account-takeover": takeover_policy("passive"), "m365-campaign": campaign}
    )
    admin = api.token[Role.ADMIN]
    ids = [
        (await send_as(api, admin, takeover_alert(u).model_dump(mode="json"))).json()["response_id"]
        for u in ("adele@contoso.com", "ben@contoso.com")
    ]
    incident = await incident_of(api.stack.service.incidents, ids[0], alerts=2)
    ask = await eventually(
        lambda: incident_of(api.stack.service.incidents, ids[0], alerts=2),
        until=lambda i: len(i.responses) > len(ids),
        what="the incident's own response",
    )
    [own] = [r for r in ask.responses if r not in ids]
    view = await api.wait_for(own, pending)
    block = action_of(view, "block_sign_in_from")["action_id"]

    refused = await api.http.post(f"/v1/approvals/{block}/approve", headers=api.auth(Role.ADMIN))
    assert refused.status_code == 403
    assert "sent an alert of this incident" in refused.json()["message"]
    approved = await api.http.post(
        f"/v1/approvals/{block}/approve", headers=api.auth(Role.APPROVER)
    )
    assert approved.status_code == 200, approved.text
    assert incident.incident_id in own
