"""How actions fail: transient faults retry with Retry-After, the rest fail typed and final."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError

from activities.errors import retry_after
from activities.tenant import TenantActivities, tenant_activities
from activities.testing import action_input, run
from riposte.actions.payloads import ActionName
from riposte.failures import FailureType
from riposte.holders.ledger import Ledger
from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam

BEN = "ben@contoso.com"
VPN_IP = "10.8.0.25"
PUT_RULE = (
    "PUT /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/"
    "networkSecurityGroups/{nsg}/securityRules/{rule}"
)


@pytest.fixture
async def acts(tenant: TenantSettings, tmp_path: Path) -> AsyncIterator[TenantActivities]:
    async with tenant_activities(
        tenant, Ledger(f"sqlite:///{tmp_path / 'audit.db'}")
    ) as activities:
        yield activities


async def test_graph_429_is_retryable_with_retry_after_and_the_retry_succeeds(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A throttled PATCH raises a retryable Transient error with Retry-After; the retry works."""
    emulator_seam.add_fault(route="graph.users.patch", status=429, retry_after=7, count=1)
    request = action_input(ActionName.DISABLE_SIGN_IN, BEN)
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(ActionName.DISABLE_SIGN_IN), request)
    assert caught.value.type == FailureType.TRANSIENT
    assert not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=7)
    assert "429" in str(caught.value)
    assert emulator_seam.call_count("PATCH /v1.0/users/{id}") == 1  # kiota did not retry itself

    result = await run(acts.act(ActionName.DISABLE_SIGN_IN), request)
    assert result.changed
    assert result.revert.was_enabled is True
    assert emulator_seam.state()["users"][BEN]["accountEnabled"] is False


async def test_arm_503_is_retryable_and_the_retry_adds_one_rule(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A 503 on the NSG PUT is Transient and retryable; the retry leaves exactly one rule."""
    emulator_seam.add_fault(route="arm.rules.put", status=503, retry_after=2, count=1)
    request = action_input(ActionName.BLOCK_PORTS, VPN_IP, ports=(445, 9401))
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(ActionName.BLOCK_PORTS), request)
    assert caught.value.type == FailureType.TRANSIENT
    assert not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=2)
    assert emulator_seam.call_count(PUT_RULE) == 1  # azure-core did not retry itself

    result = await run(acts.act(ActionName.BLOCK_PORTS), request)
    assert result.changed
    names = [r["name"] for r in emulator_seam.state()["nsgs"]["nsg-servers"]["security_rules"]]
    assert sum(name.startswith("riposte-") for name in names) == 1


async def test_unknown_user_is_a_final_not_found(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """A 404 for an unknown user is NotFound and never retried."""
    request = action_input(ActionName.DISABLE_SIGN_IN, "nobody@contoso.com")
    with pytest.raises(ApplicationError) as caught:
        await run(acts.act(ActionName.DISABLE_SIGN_IN), request)
    assert caught.value.type == FailureType.NOT_FOUND
    assert caught.value.non_retryable
    assert "nobody@contoso.com" in str(caught.value)


async def test_missing_privileges_are_a_final_forbidden_without_secrets(
    acts: TenantActivities, emulator_seam: EmulatorSeam, tenant: TenantSettings
) -> None:
    """A 403 from Graph or ARM is Forbidden and never retried; no token or secret is in it."""
    emulator_seam.add_fault(route="graph.users.patch", deny=True)
    emulator_seam.add_fault(route="arm.rules.put", deny=True)
    failures = []
    for call, request in (
        (acts.act(ActionName.DISABLE_SIGN_IN), action_input(ActionName.DISABLE_SIGN_IN, BEN)),
        (
            acts.act(ActionName.BLOCK_PORTS),
            action_input(ActionName.BLOCK_PORTS, VPN_IP, ports=(445,)),
        ),
    ):
        with pytest.raises(ApplicationError) as caught:
            await run(call, request)
        failures.append(caught.value)
    assert [f.type for f in failures] == [FailureType.FORBIDDEN] * 2
    assert all(f.non_retryable for f in failures)
    assert "Authorization_RequestDenied" in str(failures[0])
    assert "AuthorizationFailed" in str(failures[1])
    secret = tenant.client_secret.get_secret_value() if tenant.client_secret else "unset"
    for failure in failures:
        text = f"{failure} {failure.details} {failure.__cause__} {failure.__context__}"
        assert secret not in text
        assert "Bearer" not in text and "eyJ" not in text


async def test_a_wrong_client_secret_is_a_final_unauthorized(
    tenant: TenantSettings, emulator_seam: EmulatorSeam
) -> None:
    """The real ClientSecretCredential is refused at the login endpoint: Unauthorized, final."""
    wrong = tenant.model_copy(update={"client_secret": SecretStr("not-the-secret")})
    async with tenant_activities(wrong) as acts:
        with pytest.raises(ApplicationError) as caught:
            await run(
                acts.act(ActionName.REVOKE_SESSIONS), action_input(ActionName.REVOKE_SESSIONS, BEN)
            )
    assert caught.value.type == FailureType.UNAUTHORIZED
    assert caught.value.non_retryable
    assert "not-the-secret" not in str(caught.value)
    assert emulator_seam.call_count("POST /{tenant}/oauth2/v2.0/token") == 1
    assert emulator_seam.call_count("POST /v1.0/users/{id}/revokeSignInSessions") == 0


async def test_no_configured_credential_is_a_configuration_error(
    tenant: TenantSettings, emulator_seam: EmulatorSeam
) -> None:
    """Settings without a secret, certificate or managed identity fail clearly, calling nothing."""
    bare = tenant.model_copy(update={"client_secret": None})
    async with tenant_activities(bare) as acts:
        with pytest.raises(ApplicationError) as caught:
            await run(
                acts.act(ActionName.REVOKE_SESSIONS), action_input(ActionName.REVOKE_SESSIONS, BEN)
            )
    assert caught.value.type == FailureType.CONFIGURATION
    assert "no tenant credential configured" in str(caught.value)
    assert emulator_seam.calls() == {}


@pytest.mark.parametrize(
    ("action", "target", "params", "message"),
    [
        (ActionName.BLOCK_PORTS, "10.8.0.999", {"ports": (445,)}, "not an IP address"),
        (ActionName.BLOCK_PORTS, "10.8.0.0/33", {"ports": (445,)}, "not a single host's address"),
        (ActionName.BLOCK_OUTBOUND, "", {}, "no address given"),
        (ActionName.BLOCK_OUTBOUND, "fe80::1%eth0", {}, "zone id"),
        (ActionName.BLOCK_PORTS, VPN_IP, {"ports": (0, 445)}, "port out of range 1-65535: 0"),
        (ActionName.BLOCK_PORTS, VPN_IP, {"ports": (70000,)}, "out of range 1-65535: 70000"),
        (ActionName.BLOCK_PORTS, VPN_IP, {}, "needs at least one port"),
        (ActionName.DISABLE_SIGN_IN, "  ", {}, "target user is empty"),
        (ActionName.REVOKE_SESSIONS, "", {}, "target user is empty"),
        (ActionName.DELETE_INBOX_RULES, "ben@contoso.com/../x", {}, "not a UPN"),
        (ActionName.QUARANTINE_MAIL, BEN, {}, "needs message ids or sent_within_seconds"),
    ],
)
async def test_bad_input_is_refused_before_any_call(
    acts: TenantActivities,
    emulator_seam: EmulatorSeam,
    action: ActionName,
    target: str,
    params: dict[str, object],
    message: str,
) -> None:
    """Invalid IPs, CIDRs, ports and users are a final BadRequest, and the tenant sees no call."""
    call = acts.act(action)
    with pytest.raises(ApplicationError) as caught:
        await run(call, action_input(action, target, **params))
    assert caught.value.type == FailureType.BAD_REQUEST
    assert caught.value.non_retryable
    assert message in str(caught.value)
    assert emulator_seam.calls() == {}


async def test_an_input_for_another_action_is_refused(
    acts: TenantActivities, emulator_seam: EmulatorSeam
) -> None:
    """An activity given another action's input refuses it instead of misreading it."""
    with pytest.raises(ApplicationError) as caught:
        await run(
            acts.act(ActionName.DISABLE_SIGN_IN), action_input(ActionName.REVOKE_SESSIONS, BEN)
        )
    assert caught.value.type == FailureType.BAD_REQUEST
    assert emulator_seam.calls() == {}


def test_retry_after_reads_seconds_dates_and_milliseconds() -> None:
    """Retry-After in seconds or as an HTTP date, and retry-after-ms, all become a delay."""
    now = datetime(2024, 6, 9, 9, 12, 0, tzinfo=UTC)
    assert retry_after({"Retry-After": "12"}) == timedelta(seconds=12)
    assert retry_after({"retry-after": "Sun, 09 Jun 2024 09:12:30 GMT"}, now) == timedelta(
        seconds=30
    )
    assert retry_after({"retry-after-ms": "1500"}) == timedelta(seconds=1.5)
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({}) is None
