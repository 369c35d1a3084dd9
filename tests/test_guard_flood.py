"""Flood control: refused requests are rate-limited per address and folded into one `denied`
audit event per address and actor per window, with a count and paths cut to 256 characters."""

from __future__ import annotations

import httpx

from riposte.api.denials import PATH_MAX
from riposte.api.tokens import Role
from riposte.audit.events import AuditFilter, AuditKind
from riposte.settings import Guardrails
from tests.eventually import eventually
from tests.plugins.api import ApiFactory


async def test_500_unauthenticated_requests_add_a_handful_of_audit_rows(
    make_api: ApiFactory,
) -> None:
    """500 unauthenticated GETs with 8 KB paths write one folded `denied` event (count 500,
    path cut to 256 characters), and past the limit the address gets 429."""
    api = await make_api({})
    before = len(api.stack.store.query(AuditFilter()))
    path = "/v1/responses/" + "x" * 8192
    statuses = [(await api.http.get(path)).status_code for _ in range(500)]
    assert statuses[:30] == [401] * 30
    assert set(statuses[30:]) == {429}
    events = api.stack.store.query(AuditFilter())
    assert len(events) == before  # nothing written while the window is open
    [denied] = api.denied()
    assert denied.detail.startswith("500 refused from ")
    assert "401: 30" in denied.detail and "429: 470" in denied.detail
    assert len(denied.target) == PATH_MAX and len(denied.detail) < 1024
    assert len(api.stack.store.query(AuditFilter())) - before <= 3


async def test_a_closed_window_is_audited_without_another_request(make_api: ApiFactory) -> None:
    """When a window ends, its folded event is written by itself, one per address."""
    api = await make_api({}, guardrails=Guardrails(denied_window_seconds=1))
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app, client=("198.51.100.9", 4000)),
        base_url="http://riposte.test",
    )
    async with other:
        for _ in range(3):
            await api.http.get("/v1/audit")
        await other.get("/v1/audit", headers={"Authorization": "Bearer rpt_guess"})
    found = await eventually(
        lambda: api.stack.store.query(AuditFilter(kind=AuditKind.DENIED)),
        until=lambda events: len(events) == 2,
        within=5,
        what="both windows' denied events",
    )
    assert sorted(e.detail.split(" in ")[0] for e in found) == [
        "1 refused from 198.51.100.9",
        "3 refused from 203.0.113.7",
    ]
    assert all("rpt_guess" not in e.model_dump_json() for e in found)


async def test_a_known_token_is_never_slowed_by_its_addresss_refusals(
    make_api: ApiFactory,
) -> None:
    """An address over its limit of unauthenticated refusals still serves a valid token."""
    api = await make_api({})
    for _ in range(40):
        await api.http.get("/v1/audit")
    assert (await api.http.get("/v1/audit")).status_code == 429
    assert (await api.http.get("/v1/audit", headers=api.auth(Role.AUDITOR))).status_code == 200


async def test_console_sign_ins_are_rate_limited_as_the_api_is(make_api: ApiFactory) -> None:
    """Wrong tokens posted to the console's /login count toward the address's limit: past it,
    429 and one folded `denied` event; a valid token still signs in."""
    api = await make_api({})
    statuses = [
        (await api.http.post("/login", data={"token": f"rpt_guess{n}"})).status_code
        for n in range(40)
    ]
    assert statuses[:30] == [401] * 30 and set(statuses[30:]) == {429}
    [denied] = api.denied()
    assert "401: 30" in denied.detail and "429: 10" in denied.detail
    assert "rpt_guess" not in denied.model_dump_json()
    signed = await api.http.post("/login", data={"token": api.token[Role.APPROVER], "next": "/"})
    assert signed.status_code == 303
