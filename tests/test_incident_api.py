"""Incidents through the API and the console, on the real worker, dev server and emulator."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from riposte.api.tokens import Role
from riposte.audit.events import AuditKind
from riposte.console.session import COOKIE
from tests.plugins.api import ApiFactory, ApiHarness
from tests.responses import takeover_alert, takeover_policy

KEYS = {
    "incident_id",
    "key",
    "status",
    "accounts",
    "devices",
    "attacker_ips",
    "alerts",
    "responses",
}


def all_pending(view: dict[str, Any]) -> bool:
    return bool(view["actions"]) and all(a["state"] == "pending_approval" for a in view["actions"])


async def two_pending_accounts(api: ApiHarness) -> list[str]:
    ids = []
    for user in ("adele@contoso.com", "ben@contoso.com"):
        answer = await api.post_alert(takeover_alert(user).model_dump(mode="json"))
        assert answer.status_code == 202
        ids.append(answer.json()["response_id"])
    for rid in ids:
        await api.wait_for(rid, all_pending)
    return ids


async def test_incidents_are_listed_shown_and_decided_as_one(make_api: ApiFactory) -> None:
    """GET /v1/incidents lists the campaign with DESIGN.md's keys, GET /v1/incidents/{id} shows
    it, and one approval of the incident approves every pending action, recorded per action
    under the approver."""
    api = await make_api({"m365-account-takeover": takeover_policy("human-confirm")})
    ids = await two_pending_accounts(api)
    reader = api.auth(Role.AUDITOR)
    listed = (await api.http.get("/v1/incidents", headers=reader)).json()
    [incident] = [i for i in listed if set(ids) <= set(i["responses"])]
    assert set(incident) >= KEYS and incident["alerts"] == 2
    assert incident["attacker_ips"] == ["198.51.100.7"]
    path = f"/v1/incidents/{quote(incident['incident_id'], safe='')}"
    shown = await api.http.get(path, headers=reader)
    assert shown.status_code == 200 and shown.json() == incident
    assert (await api.http.get("/v1/incidents/nope:1", headers=reader)).status_code == 404

    decided = await api.http.post(
        f"{path}/approve", json={"comment": "one campaign"}, headers=api.auth(Role.APPROVER)
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["decided"] == 8
    approver = api.name(Role.APPROVER)
    for rid in ids:
        approved = api.stack.audit(rid, AuditKind.APPROVED)
        assert len(approved) == 4 and {e.actor for e in approved} == {approver}


async def test_the_console_tells_the_incident_as_one_story(make_api: ApiFactory) -> None:
    """The console's incident page shows both accounts, the attacker IP, the pending actions
    with one form for all of them (its URL encoded), and the responses list links the
    incident."""
    api = await make_api({"m365-account-takeover": takeover_policy("human-confirm")})
    ids = await two_pending_accounts(api)
    listed = (await api.http.get("/v1/incidents", headers=api.auth(Role.AUDITOR))).json()
    [incident] = [i for i in listed if set(ids) <= set(i["responses"])]
    encoded = quote(incident["incident_id"], safe="")
    api.http.cookies.set(COOKIE, api.token[Role.APPROVER])
    html = (await api.http.get(f"/incidents/{encoded}")).text
    assert "adele@contoso.com" in html and "ben@contoso.com" in html
    assert "198.51.100.7" in html and "Approve all 8" in html
    assert f'action="/incidents/{encoded}/decide"' in html
    answer = await api.http.post(
        f"/incidents/{encoded}/decide", data={"decision": "approve", "comment": "go"}
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("decided=8")
    responses = (await api.http.get("/responses")).text
    assert f'href="/incidents/{encoded}"' in responses
