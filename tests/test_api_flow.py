"""Every route end to end on the real worker, Temporal dev server and tenant emulator."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from riposte.api.tokens import Role
from riposte.audit.events import AuditKind
from riposte.settings import NsgBinding
from tenant_emulator.client import EmulatorSeam
from tests.plugins.api import ApiFactory, ApiHarness
from tests.responses import HIJACKED, network_policy, takeover_alert, takeover_policy

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alerts"


def by_action(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["action"]: a for a in view["actions"]}


def all_pending(view: dict[str, Any]) -> bool:
    return bool(view["actions"]) and all(a["state"] == "pending_approval" for a in view["actions"])


async def pending_takeover(api: ApiHarness) -> str:
    alert = takeover_alert().model_dump(mode="json")
    answer = await api.post_alert(alert)
    assert answer.status_code == 202
    response_id: str = answer.json()["response_id"]
    await api.wait_for(response_id, all_pending)
    return response_id


async def test_an_approver_sees_context_approves_rejects_and_releases(
    make_api: ApiFactory, emulator_seam: EmulatorSeam
) -> None:
    """Pending actions come with their alert, policy and sibling actions; approve runs one,
    reject (with a reason) stops another, release reverts the first, and the audit names the
    approver from the token each time."""
    api = await make_api({"m365-account-takeover": takeover_policy("human-confirm")})
    rid = await pending_takeover(api)
    approver = api.auth(Role.APPROVER)

    listed = await api.http.get("/v1/approvals", params={"status": "pending"}, headers=approver)
    assert listed.status_code == 200
    mine = {r["action"]["action"]: r for r in listed.json() if r["response_id"] == rid}
    assert set(mine) == {
        "disable_sign_in",
        "revoke_sessions",
        "delete_inbox_rules",
        "quarantine_mail",
    }
    disable = mine["disable_sign_in"]
    assert disable["alert"]["entities"]["user"] == HIJACKED
    assert [m["name"] for m in disable["matched"]] == ["m365-account-takeover"]
    assert len(disable["action"]["policy_hash"]) == 64
    assert disable["action"]["api_calls"] and disable["action"]["change"]
    assert {o["action"] for o in disable["other_actions"]} == set(mine) - {"disable_sign_in"}
    disable_id = disable["action"]["action_id"]
    revoke_id = mine["revoke_sessions"]["action"]["action_id"]

    forged = await api.http.post(
        f"/v1/approvals/{disable_id}/approve", json={"by": "mallory"}, headers=approver
    )
    assert (forged.status_code, forged.json()["location"]) == (422, "body.by")

    approved = await api.http.post(
        f"/v1/approvals/{disable_id}/approve", json={"comment": "called Ben"}, headers=approver
    )
    assert approved.status_code == 200
    assert approved.json()["decided_by"] == api.name(Role.APPROVER)

    no_reason = await api.http.post(
        f"/v1/approvals/{revoke_id}/reject", json={"reason": "  "}, headers=approver
    )
    assert (no_reason.status_code, no_reason.json()["location"]) == (422, "body.reason")
    rejected = await api.http.post(
        f"/v1/approvals/{revoke_id}/reject", json={"reason": "a false positive"}, headers=approver
    )
    assert (rejected.status_code, rejected.json()["state"]) == (200, "rejected")

    view = await api.wait_for(rid, lambda v: by_action(v)["disable_sign_in"]["state"] == "executed")
    assert by_action(view)["disable_sign_in"]["revert_at"] is not None
    assert emulator_seam.state()["users"][HIJACKED]["accountEnabled"] is False

    again = await api.http.post(f"/v1/approvals/{disable_id}/approve", headers=approver)
    assert again.status_code == 409
    assert again.json()["state"] == "executed"
    unknown = await api.http.post(f"/v1/approvals/{rid}:a99/approve", headers=approver)
    assert (unknown.status_code, unknown.json()["state"]) == (409, "unknown")

    released = await api.http.post(
        f"/v1/actions/{disable_id}/release", json={"comment": "user verified"}, headers=approver
    )
    assert released.status_code == 200
    await api.wait_for(rid, lambda v: by_action(v)["disable_sign_in"]["state"] == "released")
    assert emulator_seam.state()["users"][HIJACKED]["accountEnabled"] is True
    twice = await api.http.post(f"/v1/actions/{disable_id}/release", headers=approver)
    assert (twice.status_code, twice.json()["state"]) == (409, "released")

    decisions = {
        (e.kind, e.action): (e.actor, e.detail.split(";")[0])
        for e in api.stack.audit(rid)
        if e.kind in (AuditKind.APPROVED, AuditKind.REJECTED, AuditKind.RELEASED)
    }
    name = api.name(Role.APPROVER)
    assert decisions == {
        (AuditKind.APPROVED, "disable_sign_in"): (name, "called Ben"),
        (AuditKind.REJECTED, "revoke_sessions"): (name, "a false positive"),
        (AuditKind.RELEASED, "disable_sign_in"): (name, "user verified"),
    }


async def test_a_decision_after_expiry_is_409_expired(make_api: ApiFactory) -> None:
    """Once nobody answered within the policy's timeout, approving is 409 with state expired."""
    policy = network_policy("human-confirm", extra="approval: {timeout: 1s, on_timeout: expire}")
    api = await make_api({"network-lateral-movement": policy})
    alert = {
        "id": "dt-expiry-1",
        "source": "darktrace",
        "name": "Device / Network Scan",
        "severity": "high",
        "score": 0.9,
        "time": "2023-02-14T22:41:00Z",
        "entities": {"ip": "10.8.0.25"},
    }
    rid = (await api.post_alert(alert)).json()["response_id"]
    view = await api.wait_for(
        rid, lambda v: bool(v["actions"]) and all(a["state"] == "expired" for a in v["actions"])
    )
    late = await api.http.post(
        f"/v1/approvals/{view['actions'][0]['action_id']}/approve", headers=api.auth(Role.ADMIN)
    )
    assert (late.status_code, late.json()["state"]) == (409, "expired")


async def test_responses_are_listed_and_shown(make_api: ApiFactory) -> None:
    """GET /v1/responses lists a started response with its status; GET by id shows it whole."""
    api = await make_api({"m365-account-takeover": takeover_policy("human-confirm")})
    rid = await pending_takeover(api)
    auditor = api.auth(Role.AUDITOR)
    listed = await api.http.get("/v1/responses", headers=auditor)
    assert listed.status_code == 200
    row = next(r for r in listed.json() if r["response_id"] == rid)
    assert row["alert_name"] == "SaaS / Compromise / Unusual Login and New Email Rule"
    pending = await api.http.get(
        "/v1/responses", params={"status": "pending_approval", "limit": 5}, headers=auditor
    )
    assert rid in [r["response_id"] for r in pending.json()]
    shown = await api.http.get(f"/v1/responses/{rid}", headers=auditor)
    assert shown.json()["alert"]["entities"]["user"] == HIJACKED
    assert shown.json()["matched"][0]["name"] == "m365-account-takeover"
    missing = await api.http.get("/v1/responses/darktrace:never-sent", headers=auditor)
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")


async def test_the_audit_is_filtered_paginated_exported_and_verified(make_api: ApiFactory) -> None:
    """GET /v1/audit filters, pages with after_seq, exports CSV with the same events, and the
    verify route reports an intact chain."""
    api = await make_api({"m365-account-takeover": takeover_policy("passive")})
    alert = takeover_alert().model_dump(mode="json")
    rid = (await api.post_alert(alert)).json()["response_id"]
    await api.wait_for(
        rid, lambda v: bool(v["actions"]) and all(a["state"] == "simulated" for a in v["actions"])
    )
    auditor = api.auth(Role.AUDITOR)
    whole = (await api.http.get("/v1/audit", params={"response_id": rid}, headers=auditor)).json()
    kinds = [e["kind"] for e in whole["events"]]
    assert kinds[:2] == ["alert_received", "policy_matched"]
    assert kinds.count("simulated") == 4
    assert whole["next_after_seq"] is None

    pages: list[dict[str, Any]] = []
    after = 0
    while True:
        answer = await api.http.get(
            "/v1/audit",
            params={"response_id": rid, "limit": 2, "after_seq": after},
            headers=auditor,
        )
        page = answer.json()
        pages.extend(page["events"])
        if page["next_after_seq"] is None:
            break
        assert answer.headers["x-next-after-seq"] == str(page["next_after_seq"])
        after = page["next_after_seq"]
    assert pages == whole["events"]

    simulated = await api.http.get(
        "/v1/audit",
        params={"response_id": rid, "kind": "simulated", "action": "disable_sign_in"},
        headers=auditor,
    )
    [one] = simulated.json()["events"]
    assert (one["target"], one["mode"]) == (HIJACKED, "passive")

    exported = await api.http.get(
        "/v1/audit", params={"response_id": rid, "format": "csv"}, headers=auditor
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["id"] for r in rows] == [e["id"] for e in whole["events"]]
    assert rows[0]["hash"] == whole["events"][0]["hash"]

    verified = (await api.http.get("/v1/audit/verify", headers=auditor)).json()
    assert verified["ok"] is True
    assert verified["events"] >= len(kinds)

    bad = await api.http.get("/v1/audit", params={"kind": "exploded"}, headers=auditor)
    assert (bad.status_code, bad.json()["location"]) == (422, "query.kind")


async def test_metrics_count_responses_actions_and_approval_waits(make_api: ApiFactory) -> None:
    """After a response, /metrics reports it matched, its actions by kind and outcome, and how
    long its approval waited."""
    api = await make_api({"m365-account-takeover": takeover_policy("human-confirm")})
    rid = await pending_takeover(api)
    view = await api.wait_for(rid, all_pending)
    action_id = by_action(view)["revoke_sessions"]["action_id"]
    await api.http.post(
        f"/v1/approvals/{action_id}/reject", json={"reason": "test"}, headers=api.auth(Role.ADMIN)
    )
    await api.wait_for(rid, lambda v: by_action(v)["revoke_sessions"]["state"] == "rejected")
    text = (await api.http.get("/metrics")).text
    assert 'riposte_responses_total{outcome="matched"} 1.0' in text
    assert (
        'riposte_actions_total{action="revoke_sessions",outcome="approval_requested"} 1.0' in text
    )
    assert 'riposte_actions_total{action="revoke_sessions",outcome="rejected"} 1.0' in text
    assert 'riposte_approval_wait_seconds_count{decision="rejected"} 1.0' in text
    again = (await api.http.get("/metrics")).text  # a second scrape does not count twice
    assert 'riposte_actions_total{action="revoke_sessions",outcome="rejected"} 1.0' in again


def sample(relative: str, *path: str) -> Any:
    data: Any = json.loads((FIXTURES / relative).read_text())
    for key in path:
        data = data[key]
    return data


async def test_one_real_sample_of_each_format_drives_a_response(
    make_api: ApiFactory, emulator_seam: EmulatorSeam
) -> None:
    """A Darktrace breach blocks its device's IP in the NSG, a Graph alerts_v2 alert waits for
    approval on its device's IP, and a Sentinel incident (no entities) is audited as no_match
    with the reason; each was posted as the vendor sends it, with the format detected."""
    policies = {
        "darktrace-testing": """
name: darktrace-testing
match: {source: darktrace, name: "Testing / *", entities: [ip]}
mode: autonomous
actions: [block_outbound]
duration: 1h
""",
        "defender-devices": """
name: defender-devices
match: {source: defender, entities: [ip]}
mode: human-confirm
actions: [block_outbound]
""",
        "sentinel-users": """
name: sentinel-users
match: {source: sentinel, entities: [user]}
mode: autonomous
actions: [disable_sign_in]
""",
    }
    # The Graph sample's device sits at 1.1.1.1: say which NSG guards it (configuration).
    sample_range = NsgBinding(name="nsg-vpn", resource_group="rg-core", cidr="1.1.1.0/24")
    api = await make_api(policies, nsgs=(sample_range,))

    darktrace = await api.post_alert(sample("darktrace/xsoar-get_breach.json"))
    defender = await api.post_alert(sample("defender/graph-docs-alert-v2-example.json"))
    sentinel = await api.post_alert(
        sample("sentinel/azure-rest-api-specs-Incidents_Get.json", "responses", "200", "body")
    )
    assert [a.status_code for a in (darktrace, defender, sentinel)] == [202, 202, 202]
    ids = [a.json()["response_id"] for a in (darktrace, defender, sentinel)]
    assert ids == [
        "darktrace:dt-95",
        "defender:da637578995287051192_756343937",
        "sentinel:73e01a99-5cd7-4139-a149-9f2736ff2ab5",
    ]

    blocked = await api.wait_for(
        ids[0], lambda v: by_action(v).get("block_outbound", {}).get("state") == "executed"
    )
    assert blocked["alert"]["entities"]["ip"] == "10.0.0.1"
    rules = emulator_seam.state()["nsgs"]["nsg-servers"]["security_rules"]
    assert any("10.0.0.1" in json.dumps(rule) and "Deny" in json.dumps(rule) for rule in rules)

    waiting = await api.wait_for(ids[1], all_pending)
    assert waiting["alert"]["entities"] == {
        **waiting["alert"]["entities"],
        "ip": "1.1.1.1",
        "device": "tempDns",
    }
    assert "1.1.1.1" in by_action(waiting)["block_outbound"]["change"]

    unmatched = await api.wait_for(ids[2], lambda v: bool(v["no_match_reason"]))
    assert unmatched["actions"] == []
    assert "user" in unmatched["no_match_reason"]
    [no_match] = api.stack.audit(ids[2], AuditKind.NO_MATCH)
    assert "user" in no_match.detail
