"""Token identities: unique names, reserved names, expiry, revocation, bound sources."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from riposte.api.tokens import Principal, Role, TokenStore
from riposte.cli import run
from riposte.errors import InvalidInput
from tests.plugins.api import ApiFactory
from tests.responses import network_policy


def test_names_are_unique_ignoring_case(tmp_path: Path) -> None:
    """A second token under a name already taken (in any case) is refused, minting nothing."""
    store = TokenStore.in_data_dir(tmp_path)
    store.create(Role.APPROVER, "alice")
    with pytest.raises(InvalidInput) as taken:
        store.create(Role.ADMIN, "Alice")
    assert taken.value.location == "name" and "exists" in str(taken.value)
    assert [r.name for r in store.records()] == ["alice"]


@pytest.mark.parametrize("name", ["engine", "anonymous", "ENGINE"])
def test_the_engines_own_names_are_reserved(tmp_path: Path, name: str) -> None:
    """No token may be named like the engine's own actors in the audit."""
    with pytest.raises(InvalidInput, match="reserved"):
        TokenStore.in_data_dir(tmp_path).create(Role.ADMIN, name)


def test_a_revoked_name_is_never_reused(tmp_path: Path) -> None:
    """Revoking keeps the record, so the name cannot later come to mean someone else."""
    store = TokenStore.in_data_dir(tmp_path)
    store.create(Role.APPROVER, "bob")
    store.revoke("bob")
    with pytest.raises(InvalidInput):
        store.create(Role.APPROVER, "bob")


def test_an_expired_token_authenticates_nothing(tmp_path: Path) -> None:
    """A token past its expiry is refused like an unknown one."""
    store = TokenStore.in_data_dir(tmp_path)
    lasting = store.create(Role.AUDITOR, "carol", expires_in=timedelta(days=90))
    gone = store.create(Role.AUDITOR, "dave", expires_in=timedelta(seconds=-1))
    assert store.authenticate(lasting) == Principal(name="carol", role=Role.AUDITOR)
    assert store.authenticate(gone) is None


def test_a_revoked_token_stops_at_once_in_a_running_store(tmp_path: Path) -> None:
    """A server's store refuses a token the moment another process revokes it."""
    serving = TokenStore.in_data_dir(tmp_path)
    token = serving.create(Role.APPROVER, "erin")
    assert serving.authenticate(token) is not None
    TokenStore.in_data_dir(tmp_path).revoke("erin")
    assert serving.authenticate(token) is None


def test_token_cli_binds_senders_expires_lists_and_revokes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`token create --role sender --source S --expires 90d`, `token list` and `token revoke`
    do what they say; a sender without --source is a usage error."""
    data = ["--data-dir", str(tmp_path)]
    assert run(["token", "create", "--role", "sender", "--name", "siem", *data]) == 2
    assert "--source" in capsys.readouterr().err
    create = ["token", "create", "--role", "sender", "--name", "dt", "--source", "darktrace"]
    assert run([*create, "--expires", "90d", *data]) == 0
    token = capsys.readouterr().out.strip()
    principal = TokenStore.in_data_dir(tmp_path).authenticate(token)
    assert principal is not None and principal.sources == ("darktrace",)
    assert principal.may_claim("darktrace") and not principal.may_claim("defender")
    assert run(["token", "revoke", "dt", *data]) == 0
    assert "revoked dt" in capsys.readouterr().out
    assert run(["token", "list", "--format", "json", *data]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["state"], listed["sources"]) == ("revoked", ["darktrace"])
    assert listed["expires"] is not None
    assert token not in json.dumps(listed)
    assert TokenStore.in_data_dir(tmp_path).authenticate(token) is None
    assert run(["token", "revoke", "nobody", *data]) == 1


async def test_a_revoked_tokens_console_session_ends_at_once(make_api: ApiFactory) -> None:
    """A console signed in with a token is sent back to sign in on its next request once the
    token is revoked."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    signed = await api.http.post(
        "/login", data={"token": api.token[Role.APPROVER], "next": "/approvals"}
    )
    assert signed.status_code == 303
    assert (await api.http.get("/approvals")).status_code == 200
    api.tokens.revoke(api.name(Role.APPROVER))
    after = await api.http.get("/approvals")
    assert after.status_code == 303 and after.headers["location"].startswith("/login")
