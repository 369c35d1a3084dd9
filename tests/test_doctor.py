"""`riposte doctor` against the real emulator, Temporal dev server, SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from riposte.actions.payloads import ActionName
from riposte.actions.permissions import missing_graph
from riposte.audit.store import open_store
from riposte.doctor import Check, Report, Status, diagnose
from riposte.doctor.audit import check_audit
from riposte.doctor.tenant import token_roles
from riposte.settings import NsgBinding, Settings, TenantSettings
from tests.plugins.audit import records

ROOT = Path(__file__).resolve().parent.parent
RIPOSTE = Path(sys.executable).parent / "riposte"
USER = "adele@contoso.com"


def by_name(report: Report) -> dict[str, Check]:
    return {check.name: check for check in report.checks}


@pytest.fixture
def data_dir(tmp_path: Path, temporal_env: WorkflowEnvironment) -> Path:
    """A data dir whose stack.json points at the test Temporal server (as `riposte dev` does)."""
    folder = tmp_path / "data"
    folder.mkdir()
    address = temporal_env.client.service_client.config.target_host
    (folder / "stack.json").write_text(json.dumps({"temporal": address}))
    return folder


def settings_for(tenant: TenantSettings, data_dir: Path, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {"policies_dir": ROOT / "policies", **overrides}
    return Settings(data_dir=data_dir, tenant=tenant, **fields)


async def test_a_sound_configuration_passes_every_check(
    tenant: TenantSettings, data_dir: Path, emulator_seam: Any
) -> None:
    """Against the emulator, every check passes and each names what it read."""
    report = await diagnose(settings_for(tenant, data_dir), user=USER)
    checks = by_name(report)
    assert report.passed, report
    assert checks["user"].status is Status.OK and USER in checks["user"].detail
    assert "inbox rules" in checks["inbox rules"].detail
    assert checks["nsg nsg-servers"].status is checks["nsg nsg-vpn"].status is Status.OK
    assert "10.0.0.0/16" in checks["nsg nsg-servers"].detail
    assert "ResponseStatus" in checks["temporal"].detail
    assert "network-lateral-movement (autonomous)" in checks["policies"].detail
    assert checks["graph permissions"].status is Status.SKIP  # the emulator's tokens are opaque


async def test_the_doctor_only_reads(
    tenant: TenantSettings, data_dir: Path, emulator_seam: Any
) -> None:
    """Every tenant request the doctor makes is a GET, bar the token requests; nothing changes."""
    before = emulator_seam.state()
    await diagnose(settings_for(tenant, data_dir), user=USER)
    token = "POST /{tenant}/oauth2/v2.0/token"
    calls = emulator_seam.calls()
    assert calls["GET /v1.0/users/{id}"] >= 1
    assert {key for key in calls if not key.startswith("GET ")} == {token}
    assert set(emulator_seam.effects()) == {token}  # tokens issued, nothing else applied
    assert emulator_seam.state() == before
    assert not (data_dir / "audit.db").exists()


@pytest.mark.parametrize(
    ("route", "check", "named"),
    [
        ("graph.mail.rules.list", "inbox rules", "MailboxSettings.ReadWrite"),
        ("graph.mail.folders.list", "mail folders", "Mail.ReadWrite"),
        ("graph.users.get", "user", "User.Read.All"),
        ("arm.nsgs.get", "nsg nsg-servers", "Network Contributor"),
        ("arm.rules.list", "nsg nsg-vpn", "securityRules/write"),
    ],
)
async def test_a_refused_read_names_the_missing_permission(
    tenant: TenantSettings,
    data_dir: Path,
    emulator_seam: Any,
    route: str,
    check: str,
    named: str,
) -> None:
    """A 403 on one read fails that check, in words naming the permission or role to grant."""
    emulator_seam.add_fault(route=route, deny=True)
    report = await diagnose(settings_for(tenant, data_dir), user=USER)
    found = by_name(report)[check]
    assert not report.passed
    assert found.status is Status.FAIL
    assert "was refused (403" in found.detail
    assert named in found.detail


async def test_a_refused_credential_fails_the_tokens_and_skips_the_reads(
    tenant: TenantSettings, data_dir: Path
) -> None:
    """A wrong client secret fails both tokens; the reads that need them are skipped, not run."""
    wrong = tenant.model_copy(update={"client_secret": SecretStr("not-the-secret")})
    report = await diagnose(settings_for(wrong, data_dir), user=USER)
    checks = by_name(report)
    assert checks["graph token"].status is checks["arm token"].status is Status.FAIL
    assert "not accepted" in checks["graph token"].detail
    assert "not-the-secret" not in json.dumps(report.model_dump(mode="json"))
    assert checks["graph"].status is checks["nsgs"].status is Status.SKIP


async def test_no_credential_names_the_settings_to_set(
    tenant: TenantSettings, data_dir: Path
) -> None:
    """With no secret, certificate or managed identity, the doctor says which settings to set."""
    bare = tenant.model_copy(update={"client_secret": None})
    report = await diagnose(settings_for(bare, data_dir), user=USER)
    credential = by_name(report)["credential"]
    assert credential.status is Status.FAIL
    assert "RIPOSTE_TENANT__CLIENT_SECRET" in credential.detail
    assert by_name(report)["tenant"].status is Status.SKIP


async def test_an_unusable_certificate_is_reported_not_raised(
    tenant: TenantSettings, data_dir: Path, tmp_path: Path
) -> None:
    """A certificate path that does not exist, or a file that is no certificate, fails the
    credential check in words instead of crashing the doctor."""
    missing = tenant.model_copy(
        update={"client_secret": None, "certificate_path": tmp_path / "absent.pem"}
    )
    report = await diagnose(settings_for(missing, data_dir), user=USER)
    assert "does not exist" in by_name(report)["credential"].detail
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    unreadable = missing.model_copy(update={"certificate_path": garbage})
    report = await diagnose(settings_for(unreadable, data_dir), user=USER)
    credential = by_name(report)["credential"]
    assert credential.status is Status.FAIL
    assert "cannot be built" in credential.detail


async def test_missing_things_are_named(tenant: TenantSettings, data_dir: Path) -> None:
    """An unknown user and an NSG that does not exist are reported as missing, not refused."""
    ghost = NsgBinding(name="nsg-ghost", resource_group="rg-core", cidr="10.9.0.0/16")
    wrong = tenant.model_copy(update={"nsgs": (*tenant.nsgs, ghost)})
    report = await diagnose(settings_for(wrong, data_dir), user="nobody@contoso.com")
    checks = by_name(report)
    assert checks["user"].status is Status.FAIL
    assert "no user nobody@contoso.com" in checks["user"].detail
    assert checks["mailbox"].status is Status.SKIP
    assert "nsg-ghost does not exist in resource group rg-core" in checks["nsg nsg-ghost"].detail
    assert checks["nsg nsg-servers"].status is Status.OK


async def test_policies_that_block_traffic_need_an_nsg(
    tenant: TenantSettings, data_dir: Path
) -> None:
    """With block_ports in a policy and no NSG configured, the doctor fails and says what to set."""
    report = await diagnose(settings_for(tenant.model_copy(update={"nsgs": ()}), data_dir))
    nsgs = by_name(report)["nsgs"]
    assert nsgs.status is Status.FAIL
    assert "block_ports" in nsgs.detail and "RIPOSTE_TENANT__NSGS" in nsgs.detail


async def test_an_unreachable_temporal_fails_with_what_to_set(
    tenant: TenantSettings, tmp_path: Path
) -> None:
    """Temporal that does not answer is a failure naming the environment configuration."""
    folder = tmp_path / "nowhere"
    folder.mkdir()
    (folder / "stack.json").write_text(json.dumps({"temporal": "127.0.0.1:1"}))
    report = await diagnose(settings_for(tenant, folder), user=USER, call_timeout=10)
    temporal = by_name(report)["temporal"]
    assert temporal.status is Status.FAIL
    assert "TEMPORAL_ADDRESS" in temporal.detail


async def test_broken_policies_fail_the_policy_check(
    tenant: TenantSettings, data_dir: Path, tmp_path: Path
) -> None:
    """A policy error is reported as FILE:LINE, and every action is then checked."""
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "bad.yaml").write_text("name: bad\nmatch: {}\nmode: agressive\nactions: [nope]\n")
    report = await diagnose(settings_for(tenant, data_dir, policies_dir=folder), user=USER)
    policies = by_name(report)["policies"]
    assert policies.status is Status.FAIL
    assert "bad.yaml:" in policies.detail


def test_the_audit_store_check_reads_the_chain(tmp_path: Path) -> None:
    """An existing SQLite store is verified: its events are counted and the chain checked."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    store = open_store(url)
    store.append(records(5))
    store.close()
    check = check_audit(url)
    assert check.status is Status.OK
    assert "5 events, chain verifies" in check.detail


def test_a_schema_newer_than_this_riposte_fails(tmp_path: Path) -> None:
    """A store migrated by a newer Riposte is refused with the advice to upgrade."""
    path = tmp_path / "audit.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (99, 'now')")
    conn.close()
    check = check_audit(f"sqlite:///{path}")
    assert check.status is Status.FAIL
    assert "newer" in check.detail and "upgrade Riposte" in check.detail


def test_an_empty_postgres_database_is_ready(postgres_url: str) -> None:
    """An empty database whose role may create tables passes: the first start creates them."""
    check = check_audit(postgres_url)
    assert check.status is Status.OK
    assert "empty" in check.detail
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT to_regclass('schema_version') IS NULL").fetchone()
    assert row == (True,)  # the doctor created nothing


@pytest.fixture
def writer_role(postgres_url: str) -> Iterator[str]:
    """A login role with no privileges on a migrated store; dropped after the test."""
    open_store(postgres_url).close()
    role = f"doctor_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_a_writer_role_without_grants_is_told_what_to_grant(
    postgres_url: str, writer_role: str
) -> None:
    """A role missing the writer grants fails, naming each; with the documented grants it passes."""
    as_writer = postgres_url.replace("postgres@", f"{writer_role}@")
    check = check_audit(as_writer)
    assert check.status is Status.FAIL
    assert f"grant {writer_role}" in check.detail
    assert "INSERT ON audit_events" in check.detail and "UPDATE ON audit_head" in check.detail
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        role = sql.Identifier(writer_role)
        conn.execute(sql.SQL("GRANT SELECT, INSERT ON audit_events TO {}").format(role))
        conn.execute(sql.SQL("GRANT SELECT, UPDATE ON audit_head TO {}").format(role))
        conn.execute(sql.SQL("GRANT SELECT ON schema_version TO {}").format(role))
        conn.execute(sql.SQL("GRANT SELECT ON audit_keying TO {}").format(role))
    check = check_audit(as_writer)
    assert check.status is Status.OK, check.detail
    assert "chain verifies" in check.detail


def jwt(claims: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{body}.c2ln"


def test_the_token_roles_are_read_from_its_claims() -> None:
    """A JWT's `roles` claim is the app's permissions; no claim means none; opaque means unknown."""
    assert token_roles(jwt({"roles": ["Mail.ReadWrite"]})) == ("Mail.ReadWrite",)
    assert token_roles(jwt({"aud": "https://graph.microsoft.com"})) == ()
    assert token_roles("opaque-token") is None


def test_missing_permissions_are_listed_for_the_actions_that_need_them() -> None:
    """Least privilege per action: broader grants count, and each gap names its actions."""
    every = list(ActionName)
    identity = [
        "Policy.Read.All",
        "Policy.ReadWrite.ConditionalAccess",
        "UserAuthenticationMethod.ReadWrite.All",
        "AuditLog.Read.All",
    ]
    enough = ["User.ReadWrite.All", "MailboxSettings.ReadWrite", "Mail.ReadWrite", *identity]
    assert missing_graph(every, [*enough, "Directory.ReadWrite.All"]) == {}
    least = [
        "User.Read.All",
        "User.EnableDisableAccount.All",
        "User.RevokeSessions.All",
        "User-PasswordProfile.ReadWrite.All",
        "MailboxSettings.ReadWrite",
        "Mail.ReadWrite",
        "DelegatedPermissionGrant.ReadWrite.All",
        "RoleManagement.Read.Directory",
        *identity,
    ]
    assert missing_graph(every, least) == {}
    assert missing_graph([ActionName.BLOCK_SIGN_IN_FROM], ["User.Read.All"]) == {
        "Policy.Read.All": ["block_sign_in_from"],
        "Policy.ReadWrite.ConditionalAccess": ["block_sign_in_from"],
        "RoleManagement.Read.Directory": ["block_sign_in_from"],  # the roles its policy excludes
    }
    gaps = missing_graph(
        [ActionName.DISABLE_SIGN_IN, ActionName.REVOKE_SESSIONS],
        ["User.Read.All", "Directory.Read.All"],
    )
    assert gaps == {
        "User.EnableDisableAccount.All": ["disable_sign_in"],
        "User.RevokeSessions.All": ["revoke_sessions"],
    }
    assert missing_graph([ActionName.BLOCK_PORTS], []) == {}  # Azure RBAC, not Graph


def doctor_env(tenant: TenantSettings, env: WorkflowEnvironment, data_dir: Path) -> dict[str, str]:
    """Configuration from the environment alone, as an operator sets it."""
    tenant_json = tenant.model_dump(mode="json")
    secret = tenant.client_secret
    tenant_json["client_secret"] = secret.get_secret_value() if secret else None
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": env.client.namespace,
        "RIPOSTE_DATA_DIR": str(data_dir),
        "RIPOSTE_POLICIES_DIR": str(ROOT / "policies"),
        "RIPOSTE_TENANT": json.dumps(tenant_json),
    }


def run_doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RIPOSTE), "doctor", "--user", USER, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_exits_0_when_all_is_well(
    tenant: TenantSettings, temporal_env: WorkflowEnvironment, data_dir: Path
) -> None:
    """`riposte doctor` prints one OK line per check and exits 0."""
    done = run_doctor(doctor_env(tenant, temporal_env, data_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Every check passed." in done.stdout
    assert "FAIL" not in done.stdout


def test_the_command_names_a_refused_permission_and_exits_1(
    tenant: TenantSettings,
    temporal_env: WorkflowEnvironment,
    data_dir: Path,
    emulator_seam: Any,
) -> None:
    """With inbox rules refused, `riposte doctor` names MailboxSettings.ReadWrite and exits 1;
    `--format json` gives the same verdict as data."""
    emulator_seam.add_fault(route="graph.mail.rules.list", deny=True)
    env = doctor_env(tenant, temporal_env, data_dir)
    done = run_doctor(env)
    assert done.returncode == 1, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("FAIL"))
    assert "inbox rules" in line
    assert "grant the Graph application permission MailboxSettings.ReadWrite" in line
    as_json = run_doctor(env, "--format", "json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["passed"] is False
    assert [c["name"] for c in report["checks"] if c["status"] == "fail"] == ["inbox rules"]
