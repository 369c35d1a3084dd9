"""The tenant emulator over raw HTTPS: login, Graph and ARM semantics, faults, and the seam."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam, trusting

PHISH = "<AM6PR01MB1234@contoso.com>"
API = {"api-version": "2024-05-01"}
RULES = (
    "/subscriptions/{sub}/resourceGroups/rg-core/providers/Microsoft.Network"
    "/networkSecurityGroups/{nsg}/securityRules"
)


def _token(http: httpx.Client, tenant: TenantSettings, secret: str | None = None) -> httpx.Response:
    assert tenant.client_secret is not None
    return http.post(
        f"/{tenant.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.client_id,
            "client_secret": secret or tenant.client_secret.get_secret_value(),
            "scope": "https://graph.microsoft.com/.default",
        },
    )


@pytest.fixture
def anonymous(tenant: TenantSettings) -> Iterator[httpx.Client]:
    assert tenant.ca_bundle is not None
    with httpx.Client(base_url=tenant.arm_endpoint, verify=trusting(tenant.ca_bundle)) as http:
        yield http


@pytest.fixture
def http(tenant: TenantSettings, anonymous: httpx.Client) -> Iterator[httpx.Client]:
    """A client with a bearer token from the emulator; base URL is the emulator's root."""
    token = _token(anonymous, tenant).json()["access_token"]
    assert tenant.ca_bundle is not None
    with httpx.Client(
        base_url=tenant.arm_endpoint,
        verify=trusting(tenant.ca_bundle),
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


def _rules_url(tenant: TenantSettings, nsg: str = "nsg-servers") -> str:
    return RULES.format(sub=tenant.subscription_id, nsg=nsg)


def _deny_rule(priority: int, direction: str = "Inbound") -> dict[str, Any]:
    return {
        "properties": {
            "priority": priority,
            "direction": direction,
            "access": "Deny",
            "protocol": "*",
            "sourceAddressPrefix": "10.8.0.25",
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRanges": ["445", "9401"],
        }
    }


# Login


def test_token_refuses_wrong_secret_without_echoing_it(
    tenant: TenantSettings, anonymous: httpx.Client
) -> None:
    """A wrong client secret gets AAD's 401 invalid_client, and the body never echoes it."""
    response = _token(anonymous, tenant, secret="not-the-secret-xyz")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert 7000215 in response.json()["error_codes"]
    assert "not-the-secret-xyz" not in response.text


def test_token_requires_a_default_scope(tenant: TenantSettings, anonymous: httpx.Client) -> None:
    """Client credentials must ask for a `/.default` scope, as Entra ID insists."""
    assert tenant.client_secret is not None
    response = anonymous.post(
        f"/{tenant.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.client_id,
            "client_secret": tenant.client_secret.get_secret_value(),
            "scope": "User.Read",
        },
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")


def test_openid_configuration_accepts_domain(
    tenant: TenantSettings, anonymous: httpx.Client
) -> None:
    """The tenant's domain names it as well as its id; an unknown tenant is AADSTS90002."""
    found = anonymous.get("/contoso.com/v2.0/.well-known/openid-configuration")
    assert found.json()["token_endpoint"].endswith(f"/{tenant.tenant_id}/oauth2/v2.0/token")
    missing = anonymous.get("/fabrikam.com/v2.0/.well-known/openid-configuration")
    assert (missing.status_code, missing.json()["error_codes"]) == (400, [90002])


def test_graph_and_arm_require_a_token(tenant: TenantSettings, anonymous: httpx.Client) -> None:
    """Without a valid bearer token Graph and ARM answer 401 in their own error shapes."""
    graph = anonymous.get("/v1.0/users/adele@contoso.com")
    assert (graph.status_code, graph.json()["error"]["code"]) == (401, "InvalidAuthenticationToken")
    arm = anonymous.get(_rules_url(tenant), params=API, headers={"Authorization": "Bearer nope"})
    assert (arm.status_code, arm.json()["error"]["code"]) == (401, "InvalidAuthenticationToken")
    assert "WWW-Authenticate" in arm.headers


# Graph users


def test_user_default_properties_omit_account_enabled(http: httpx.Client) -> None:
    """Like Graph, accountEnabled is returned only when $select asks for it."""
    plain = http.get("/v1.0/users/adele@contoso.com").json()
    assert "accountEnabled" not in plain and plain["displayName"] == "Adele Vance"
    chosen = http.get("/v1.0/users/ADELE@contoso.com", params={"$select": "accountEnabled"})
    assert chosen.json()["accountEnabled"] is True and "id" in chosen.json()


def test_user_patch_is_204_and_read_only_properties_refused(
    http: httpx.Client, emulator_seam: EmulatorSeam
) -> None:
    """PATCH answers 204 No Content; setting a read-only property is Graph's 400."""
    user_id = emulator_seam.state()["users"]["dana@contoso.com"]["id"]
    done = http.patch(f"/v1.0/users/{user_id}", json={"accountEnabled": False})
    assert (done.status_code, done.content) == (204, b"")
    assert emulator_seam.state()["users"]["dana@contoso.com"]["accountEnabled"] is False
    refused = http.patch(f"/v1.0/users/{user_id}", json={"id": "other"})
    assert refused.status_code == 400
    unknown = http.patch(f"/v1.0/users/{user_id}", json={"favouriteColour": "red"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "Request_BadRequest")


def test_revoke_sessions_moves_valid_from(http: httpx.Client, emulator_seam: EmulatorSeam) -> None:
    """revokeSignInSessions answers {"value": true} and moves signInSessionsValidFromDateTime."""
    before = emulator_seam.state()["users"]["eli@contoso.com"]["signInSessionsValidFromDateTime"]
    response = http.post("/v1.0/users/eli@contoso.com/revokeSignInSessions")
    assert response.json()["value"] is True
    after = emulator_seam.state()["users"]["eli@contoso.com"]["signInSessionsValidFromDateTime"]
    assert after > before


# Graph mail


def test_message_filter_combines_sender_and_time(http: httpx.Client) -> None:
    """$filter with `and` over from/emailAddress/address and sentDateTime finds only recent mail."""
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = http.get(
        "/v1.0/users/adele@contoso.com/messages",
        params={
            "$filter": f"from/emailAddress/address eq 'ben@contoso.com' and sentDateTime ge {since}"
        },
    )
    assert [m["internetMessageId"] for m in response.json()["value"]] == [PHISH]
    bad = http.get("/v1.0/users/adele@contoso.com/messages", params={"$filter": "subject xx 'a'"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "BadRequest")


def test_move_changes_rest_id_but_not_immutable_id(http: httpx.Client) -> None:
    """Without ImmutableId a moved message gets a new id; its immutable id still finds it."""
    listing = http.get(
        "/v1.0/users/chris@contoso.com/mailFolders/inbox/messages",
        params={"$filter": f"internetMessageId eq '{PHISH}'"},
    )
    rest_id = listing.json()["value"][0]["id"]
    prefer = {"Prefer": 'IdType="ImmutableId"'}
    immutable_id = http.get(f"/v1.0/users/chris@contoso.com/messages/{rest_id}", headers=prefer)
    assert immutable_id.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    moved = http.post(
        f"/v1.0/users/chris@contoso.com/messages/{rest_id}/move",
        json={"destinationId": "deleteditems"},
    )
    assert moved.status_code == 201 and moved.json()["id"] != rest_id
    assert http.get(f"/v1.0/users/chris@contoso.com/messages/{rest_id}").status_code == 404
    again = http.get(
        f"/v1.0/users/chris@contoso.com/messages/{immutable_id.json()['id']}", headers=prefer
    )
    assert again.json()["parentFolderId"] == moved.json()["parentFolderId"]


def test_mail_folders_page_and_refuse_duplicates(http: httpx.Client) -> None:
    """mailFolders pages 10 at a time with @odata.nextLink; a duplicate name is 409."""
    created = http.post(
        "/v1.0/users/ben@contoso.com/mailFolders", json={"displayName": "Quarantine"}
    )
    assert created.status_code == 201
    first = http.get("/v1.0/users/ben@contoso.com/mailFolders").json()
    rest = http.get(first["@odata.nextLink"]).json()
    names = [f["displayName"] for f in first["value"] + rest["value"]]
    assert len(first["value"]) == 10 and "Quarantine" in names and "RSS Feeds" in names
    duplicate = http.post(
        "/v1.0/users/ben@contoso.com/mailFolders", json={"displayName": "quarantine"}
    )
    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (409, "ErrorFolderExists")


def test_inbox_rules_only_on_inbox_and_unknown_rule_404(http: httpx.Client) -> None:
    """messageRules live only under the Inbox; an unknown rule id is ErrorItemNotFound."""
    other = http.get("/v1.0/users/ben@contoso.com/mailFolders/sentitems/messageRules")
    assert other.status_code == 400
    missing = http.delete("/v1.0/users/ben@contoso.com/mailFolders/inbox/messageRules/AQAAAJ0=")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ErrorItemNotFound")


def test_unknown_mailbox_is_invalid_user(http: httpx.Client) -> None:
    """A mailbox route for a user who does not exist answers Exchange's ErrorInvalidUser."""
    response = http.get("/v1.0/users/nobody@contoso.com/messages")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "ErrorInvalidUser")


# ARM


def test_arm_put_reports_in_progress_then_succeeded(
    tenant: TenantSettings, http: httpx.Client
) -> None:
    """A rule PUT is 201 with Azure-AsyncOperation; the operation is InProgress, then Succeeded."""
    url = f"{_rules_url(tenant)}/riposte-lro"
    created = http.put(url, params=API, json=_deny_rule(300))
    assert created.status_code == 201
    assert created.json()["properties"]["provisioningState"] == "Updating"
    status_url = created.headers["Azure-AsyncOperation"]
    assert http.get(status_url).json() == {"status": "InProgress"}
    assert http.get(status_url).json() == {"status": "Succeeded"}
    assert http.get(url, params=API).json()["properties"]["provisioningState"] == "Succeeded"
    assert http.put(url, params=API, json=_deny_rule(300)).status_code == 200


def test_arm_delete_is_202_with_location_then_204(
    tenant: TenantSettings, http: httpx.Client, emulator_seam: EmulatorSeam
) -> None:
    """DELETE is 202 with Location; polling it gives 202 then 204; a missing rule is 204."""
    url = f"{_rules_url(tenant)}/AllowRdpFromJumpbox"
    deleting = http.delete(url, params=API)
    assert deleting.status_code == 202 and "Azure-AsyncOperation" in deleting.headers
    location = deleting.headers["Location"]
    assert http.get(location).status_code == 202
    assert http.get(location).status_code == 204
    rules = emulator_seam.state()["nsgs"]["nsg-servers"]["security_rules"]
    assert "AllowRdpFromJumpbox" not in [r["name"] for r in rules]
    assert http.delete(url, params=API).status_code == 204


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"priority": 200}, "SecurityRuleConflict"),
        ({"priority": 99}, "SecurityRuleInvalidPriority"),
        ({"sourceAddressPrefix": "10.8.0.300"}, "SecurityRuleInvalidAddressPrefix"),
        ({"destinationPortRanges": ["70000"]}, "SecurityRuleInvalidPortRange"),
    ],
)
def test_arm_refuses_bad_rules(
    tenant: TenantSettings, http: httpx.Client, change: dict[str, Any], code: str
) -> None:
    """Invalid or clashing rules are ARM 400s with the Network provider's error codes."""
    body = _deny_rule(4000)
    body["properties"] |= change
    response = http.put(f"{_rules_url(tenant)}/bad", params=API, json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)


def test_arm_requires_api_version_and_known_nsg(tenant: TenantSettings, http: httpx.Client) -> None:
    """ARM refuses a request without api-version, and a missing NSG is ResourceNotFound."""
    assert http.get(_rules_url(tenant)).json()["error"]["code"] == "MissingApiVersionParameter"
    missing = http.get(_rules_url(tenant, "nsg-nowhere"), params=API)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ResourceNotFound")


def test_arm_rule_limit(
    tenant: TenantSettings, http: httpx.Client, emulator_seam: EmulatorSeam
) -> None:
    """An NSG already holding 1,000 rules refuses another with SecurityRuleCountLimitReached."""
    rules = [
        {
            "name": f"r{i}",
            "priority": 100 + i // 2,
            "direction": ("Inbound", "Outbound")[i % 2],
            "access": "Allow",
            "sourceAddressPrefix": "*",
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRange": str(1000 + i),
        }
        for i in range(1000)
    ]
    emulator_seam.reset(
        {
            "tenant": {"subscription_id": tenant.subscription_id},
            "nsgs": [
                {
                    "name": "nsg-full",
                    "resource_group": "rg-core",
                    "protects": "10.9.0.0/16",
                    "security_rules": rules,
                }
            ],
        }
    )
    response = http.put(
        f"{_rules_url(tenant, 'nsg-full')}/one-more", params=API, json=_deny_rule(4000)
    )
    assert response.json()["error"]["code"] == "SecurityRuleCountLimitReached"


# Faults


def test_fault_429_carries_retry_after_then_clears(
    http: httpx.Client, emulator_seam: EmulatorSeam
) -> None:
    """A 429 fault with count=1 answers once with Retry-After, then the route works again."""
    emulator_seam.add_fault(route="graph.users.patch", status=429, retry_after=2, count=1)
    body = {"accountEnabled": False}
    first = http.patch("/v1.0/users/ben@contoso.com", json=body)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert first.json()["error"]["code"] == "TooManyRequests"
    assert http.patch("/v1.0/users/ben@contoso.com", json=body).status_code == 204
    assert emulator_seam.call_count("PATCH /v1.0/users/{id}") == 2


def test_fault_by_path_glob_hits_a_fraction(
    tenant: TenantSettings, http: httpx.Client, emulator_seam: EmulatorSeam
) -> None:
    """A "METHOD /glob" fault with fraction 0.5 hits every other matching request."""
    emulator_seam.add_fault(route="GET /subscriptions/*", status=503, fraction=0.5)
    codes = [http.get(_rules_url(tenant), params=API).status_code for _ in range(4)]
    assert codes == [503, 200, 503, 200]
    assert http.get("/v1.0/users/ben@contoso.com").status_code == 200


def test_deny_answers_each_services_403(
    tenant: TenantSettings, http: httpx.Client, emulator_seam: EmulatorSeam
) -> None:
    """A denied permission is Graph's Authorization_RequestDenied / ErrorAccessDenied or ARM's
    AuthorizationFailed."""
    for route in ("graph.users.*", "graph.mail.rules.list", "arm.rules.put"):
        emulator_seam.add_fault(route=route, deny=True)
    users = http.patch("/v1.0/users/ben@contoso.com", json={"accountEnabled": False})
    rules = http.get("/v1.0/users/ben@contoso.com/mailFolders/inbox/messageRules")
    arm = http.put(f"{_rules_url(tenant)}/x", params=API, json=_deny_rule(300))
    codes = [(r.status_code, r.json()["error"]["code"]) for r in (users, rules, arm)]
    assert codes == [
        (403, "Authorization_RequestDenied"),
        (403, "ErrorAccessDenied"),
        (403, "AuthorizationFailed"),
    ]
    assert emulator_seam.state()["users"]["ben@contoso.com"]["accountEnabled"] is True


def test_latency_fault_delays_the_answer(http: httpx.Client, emulator_seam: EmulatorSeam) -> None:
    """latency_ms holds the answer back by at least that long."""
    emulator_seam.add_fault(route="graph.users.get", latency_ms=300)
    started = time.monotonic()
    assert http.get("/v1.0/users/ben@contoso.com").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_faults_list_clear_and_reject_nonsense(
    anonymous: httpx.Client, emulator_seam: EmulatorSeam
) -> None:
    """Faults can be listed and cleared; a fault that does nothing is refused with 422."""
    emulator_seam.add_fault(route="arm.*", status=503)
    assert [f["route"] for f in emulator_seam.faults()] == ["arm.*"]
    emulator_seam.clear_faults()
    assert emulator_seam.faults() == []
    assert anonymous.post("/_emulator/faults", json={"route": "arm.*"}).status_code == 422


# The seam and the seed


def test_reset_restores_seed_and_clears_calls_and_faults(
    http: httpx.Client, emulator_seam: EmulatorSeam
) -> None:
    """Reset undoes changes, forgets call counts and removes faults; tokens stay valid."""
    http.patch("/v1.0/users/adele@contoso.com", json={"accountEnabled": False})
    emulator_seam.add_fault(route="graph.users.get", status=503)
    emulator_seam.reset()
    assert emulator_seam.state()["users"]["adele@contoso.com"]["accountEnabled"] is True
    assert emulator_seam.calls() == {} and emulator_seam.faults() == []
    assert http.get("/v1.0/users/adele@contoso.com").status_code == 200


def test_calls_count_by_route_template(http: httpx.Client, emulator_seam: EmulatorSeam) -> None:
    """Calls on different users count under one route template, not under raw paths."""
    for upn in ("adele@contoso.com", "ben@contoso.com", "chris@contoso.com"):
        http.get(f"/v1.0/users/{upn}")
    calls = emulator_seam.calls()
    assert calls["GET /v1.0/users/{id}"] == 3
    assert not [key for key in calls if "contoso.com" in key]


def test_demo_seed_reproduces_incident_one(
    emulator_seam: EmulatorSeam, tenant: TenantSettings
) -> None:
    """Accounts A-E carry the attacker's "." forwarding outside contoso.com; ben's phish sits
    in colleagues' inboxes and his Sent Items, sent within the last 24 hours."""
    state = emulator_seam.state()
    assert tenant.domains == ("contoso.com",)
    assert "breakglass@contoso.com" in state["users"] and len(state["users"]) >= 18
    for letter in ("adele", "ben", "chris", "dana", "eli"):
        rules = state["inbox_rules"][f"{letter}@contoso.com"]
        dot = next(r for r in rules if r["displayName"] == ".")
        targets = dot["actions"].get("forwardTo", []) + dot["actions"].get("redirectTo", [])
        assert not targets[0]["emailAddress"]["address"].endswith("@contoso.com")
        assert len(rules) >= 3
    ben_rules = {r["displayName"]: r for r in state["inbox_rules"]["ben@contoso.com"]}
    folders = {f["id"]: f["displayName"] for f in state["mail_folders"]["ben@contoso.com"]}
    assert len(ben_rules) == 5
    assert folders[ben_rules["RSS Feeds"]["actions"]["moveToFolder"]] == "RSS Feeds"
    cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for upn, folder in (("adele@contoso.com", "Inbox"), ("ben@contoso.com", "Sent Items")):
        phish = [m for m in state["messages"][upn] if m["internetMessageId"] == PHISH]
        assert [m["folder"] for m in phish] == [folder]
        assert phish[0]["sentDateTime"] > cutoff and phish[0]["from"] == "ben@contoso.com"
    assert len(state["messages"]["adele@contoso.com"]) > 2


def test_demo_seed_reproduces_incident_two(
    emulator_seam: EmulatorSeam, tenant: TenantSettings
) -> None:
    """nsg-servers protects 10.0.0.0/16 and nsg-vpn 10.8.0.0/24, both in rg-core with ordinary
    rules that all sit below Riposte's default band (100-149), so its blocks come first."""
    nsgs = emulator_seam.state()["nsgs"]
    assert {(n.name, n.resource_group, n.cidr) for n in tenant.nsgs} == {
        ("nsg-servers", "rg-core", "10.0.0.0/16"),
        ("nsg-vpn", "rg-core", "10.8.0.0/24"),
    }
    for name in ("nsg-servers", "nsg-vpn"):
        priorities = [r["properties"]["priority"] for r in nsgs[name]["security_rules"]]
        assert len(priorities) >= 2 and min(priorities) >= 150
