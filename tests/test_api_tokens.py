"""API tokens: minted once, stored only as digests, bound to one role each."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import stat
from pathlib import Path

import pytest

from riposte.api.tokens import Principal, Role, TokenStore
from riposte.cli import run
from riposte.errors import InvalidInput


def test_a_minted_token_authenticates_as_its_holder_and_role(tmp_path: Path) -> None:
    """The token `create` returns is the one that authenticates, as that name and role."""
    store = TokenStore.in_data_dir(tmp_path)
    token = store.create(Role.APPROVER, "alice")
    assert store.authenticate(token) == Principal(name="alice", role=Role.APPROVER)
    assert store.authenticate(token + "x") is None
    assert store.authenticate("") is None


def test_only_the_digest_is_stored_in_a_private_file(tmp_path: Path) -> None:
    """tokens.json holds the SHA-256 of the token, never the token, and only its owner reads it."""
    store = TokenStore.in_data_dir(tmp_path)
    token = store.create(Role.ADMIN, "root")
    path = tmp_path / "tokens.json"
    text = path.read_text()
    assert token not in text
    [entry] = json.loads(text)
    assert entry["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert (entry["name"], entry["role"]) == ("root", "admin")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_token_minted_elsewhere_works_at_once(tmp_path: Path) -> None:
    """A server's store sees a token another process wrote, without a restart."""
    serving = TokenStore.in_data_dir(tmp_path)
    assert serving.authenticate("rpt_whatever") is None  # loaded while empty
    token = TokenStore.in_data_dir(tmp_path).create(Role.SENDER, "siem")
    assert serving.authenticate(token) == Principal(name="siem", role=Role.SENDER)


def test_a_name_that_could_mislead_the_audit_is_refused(tmp_path: Path) -> None:
    """Names are plain identifiers: no spaces, newlines or commas to forge audit lines with."""
    store = TokenStore.in_data_dir(tmp_path)
    with pytest.raises(InvalidInput) as refused:
        store.create(Role.ADMIN, "engine\nadmin")
    assert refused.value.location == "name"
    assert not (tmp_path / "tokens.json").exists()


def test_token_create_prints_the_token_once_and_list_never_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`riposte token create` prints only the token; `token list` shows holders and roles."""
    code = run(
        ["token", "create", "--role", "approver", "--name", "alice", "--data-dir", str(tmp_path)]
    )
    token = capsys.readouterr().out.strip()
    assert code == 0
    assert token.startswith("rpt_") and len(token) > 40
    assert TokenStore.in_data_dir(tmp_path).authenticate(token) == Principal(
        name="alice", role=Role.APPROVER
    )
    assert run(["token", "list", "--format", "json", "--data-dir", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert token not in listed
    assert [(t["name"], t["role"]) for t in json.loads(listed)] == [("alice", "approver")]


def test_token_create_refuses_an_unknown_role(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelled role is a usage error naming the valid ones, and mints nothing."""
    with pytest.raises(SystemExit) as usage:
        run(["token", "create", "--role", "approvr", "--name", "a", "--data-dir", str(tmp_path)])
    assert usage.value.code == 2
    assert "sender, approver, auditor, admin" in capsys.readouterr().err.replace("'", "")
    assert not (tmp_path / "tokens.json").exists()


def _mint(folder: str, worker: int) -> list[str]:
    store = TokenStore.in_data_dir(Path(folder))
    return [store.create(Role.SENDER, f"w{worker}-{n}") for n in range(25)]


def test_tokens_minted_by_processes_at_once_are_all_kept(tmp_path: Path) -> None:
    """Several processes minting at the same moment lose none of each other's tokens."""
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(4, mp_context=spawn) as pool:
        minted = [t for batch in pool.map(_mint, [str(tmp_path)] * 4, range(4)) for t in batch]
    store = TokenStore.in_data_dir(tmp_path)
    assert len(store.records()) == 100
    assert all(store.authenticate(token) is not None for token in minted)
