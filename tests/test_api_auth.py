"""Who may call what: the 401/403 matrix for every route and role, and refusals in the audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from riposte.api.tokens import Role
from tests.plugins.api import CLIENT_IP, ApiFactory

ALERT = {
    "id": "dt-auth-1",
    "source": "darktrace",
    "name": "Nothing / Matches / This",
    "severity": "low",
    "score": 0.1,
    "time": "2021-06-09T09:12:00Z",
}

# (method, path, JSON body, the roles that may call it)
ROUTES: list[tuple[str, str, object, set[Role]]] = [
    ("POST", "/v1/alerts", ALERT, {Role.SENDER, Role.ADMIN}),
    ("GET", "/v1/responses", None, {Role.APPROVER, Role.AUDITOR, Role.ADMIN}),
    ("GET", "/v1/responses/darktrace:dt-none", None, {Role.APPROVER, Role.AUDITOR, Role.ADMIN}),
    ("GET", "/v1/approvals?status=pending", None, {Role.APPROVER, Role.ADMIN}),
    ("POST", "/v1/approvals/darktrace:dt-none:a1/approve", {}, {Role.APPROVER, Role.ADMIN}),
    (
        "POST",
        "/v1/approvals/darktrace:dt-none:a1/reject",
        {"reason": "no"},
        {Role.APPROVER, Role.ADMIN},
    ),
    ("POST", "/v1/actions/darktrace:dt-none:a1/release", {}, {Role.APPROVER, Role.ADMIN}),
    ("GET", "/v1/audit", None, {Role.AUDITOR, Role.ADMIN}),
    ("GET", "/v1/audit?format=csv", None, {Role.AUDITOR, Role.ADMIN}),
    ("GET", "/v1/audit/verify", None, {Role.AUDITOR, Role.ADMIN}),
]
NONE, BAD = "no credentials", "unknown token"


async def test_every_route_refuses_missing_and_unknown_tokens_and_wrong_roles(
    make_api: ApiFactory,
) -> None:
    """Each route answers 401 without a token or with an unknown one, 403 to a role it does not
    allow, and neither to the roles it allows."""
    api = await make_api({})
    callers: dict[str, dict[str, str]] = {
        NONE: {},
        BAD: {"Authorization": "Bearer rpt_not-a-real-token"},
        **{role.value: api.auth(role) for role in Role},
    }
    seen: dict[tuple[str, str], int] = {}
    wanted: dict[tuple[str, str], int | str] = {}
    for method, path, body, allowed in ROUTES:
        for caller, headers in callers.items():
            content = None if body is None else json.dumps(body)
            answer = await api.http.request(
                method,
                path,
                content=content,
                headers={**headers, "Content-Type": "application/json"},
            )
            key = (f"{method} {path}", caller)
            seen[key] = answer.status_code
            if caller in (NONE, BAD):
                wanted[key] = 401
            elif Role(caller) in allowed:
                wanted[key] = "allowed"
            else:
                wanted[key] = 403
    got = {
        key: ("allowed" if status not in (401, 403) and wanted[key] == "allowed" else status)
        for key, status in seen.items()
    }
    assert got == wanted


async def test_a_refusal_says_why_and_asks_for_a_bearer_token(make_api: ApiFactory) -> None:
    """A 401 carries a WWW-Authenticate challenge and a typed error; a 403 names the role."""
    api = await make_api({})
    missing = await api.http.get("/v1/audit")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"] == "unauthenticated"
    wrong = await api.http.get("/v1/audit", headers=api.auth(Role.SENDER))
    assert wrong.status_code == 403
    assert wrong.json() == {
        "error": "forbidden",
        "message": "the sender role may not read_audit",
    }


async def test_refused_attempts_are_audited_as_denied_without_the_token(
    make_api: ApiFactory,
) -> None:
    """Every 401 and 403 lands in the audit as `denied` (folded per client and actor, with a
    count), naming the actor, route and client, and never the credential that was presented."""
    api = await make_api({})
    bogus = "rpt_this-is-a-guess"
    before = datetime.now(UTC)
    await api.http.get("/v1/audit", headers={"Authorization": f"Bearer {bogus}"})
    await api.http.post("/v1/approvals/x:a1/approve", headers=api.auth(Role.AUDITOR))
    await api.http.get("/v1/responses")
    denied = api.denied()
    assert [(e.actor, e.target, e.detail.split("; first: ")[1]) for e in denied] == [
        ("anonymous", "/v1/audit", "401 unknown token: GET /v1/audit"),
        (
            api.name(Role.AUDITOR),
            "/v1/approvals/x:a1/approve",
            "403 the auditor role may not decide: POST /v1/approvals/x:a1/approve",
        ),
    ]
    assert denied[0].detail.startswith("2 refused from")
    assert all(CLIENT_IP in e.detail and e.time >= before for e in denied)
    assert all(bogus not in e.model_dump_json() for e in denied)
    for role in Role:
        assert all(api.token[role] not in e.model_dump_json() for e in denied)


async def test_health_readiness_metrics_and_openapi_need_no_token(make_api: ApiFactory) -> None:
    """Probes, the scraper and the OpenAPI document are open; the API it describes is not."""
    api = await make_api({})
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert (ready.status_code, ready.json()) == (
        200,
        {"ready": True, "temporal": "ok", "audit": "ok"},
    )
    metrics = await api.http.get("/metrics")
    assert metrics.status_code == 200
    assert "riposte_alerts_received_total" in metrics.text
    spec = (await api.http.get("/openapi.json")).json()
    assert {"/v1/alerts", "/v1/responses/{response_id}", "/v1/approvals", "/v1/audit"} <= set(
        spec["paths"]
    )
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert api.denied() == []
