"""Bearer tokens bound to roles, kept as SHA-256 digests in DATA_DIR/tokens.json.

A token is shown once, when it is minted; only its digest is stored, so the file is worth
nothing to whoever reads it. The store re-reads the file when it changes, so a token minted by
`riposte token create` works against a running server at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import Field, TypeAdapter

from riposte.errors import InvalidInput
from riposte.model import Frozen

TOKEN_PREFIX = "rpt_"  # noqa: S105 (a prefix, not a secret)
TOKENS_FILE = "tokens.json"


class Role(StrEnum):
    """What a caller may do. `admin` may do everything the others may."""

    SENDER = "sender"  # posts alerts
    APPROVER = "approver"  # decides pending actions, releases blocks, reads responses
    AUDITOR = "auditor"  # reads the audit trail and responses
    ADMIN = "admin"


class Principal(Frozen):
    """The authenticated caller: the name written to the audit as the actor."""

    name: str
    role: Role


class TokenRecord(Frozen):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@+-]+$")
    role: Role
    sha256: str
    created: datetime


_RECORDS = TypeAdapter(list[TokenRecord])


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """The tokens of one data directory."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._by_digest: dict[str, TokenRecord] = {}
        self._loaded_stamp: tuple[int, int] | None = None

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> TokenStore:
        return cls(data_dir / TOKENS_FILE)

    def create(self, role: Role, name: str) -> str:
        """Mint a token for `name` with `role`, store its digest, and return it (the only time
        it is ever seen)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            record = TokenRecord(
                name=name, role=role, sha256=digest(token), created=datetime.now(UTC)
            )
        except ValueError as err:
            raise InvalidInput("a name is 1-128 letters, digits or _.@+-", location="name") from err
        with self._lock, self._file_lock():
            records = [*self._read(), record]
            self._write(records)
        return token

    def records(self) -> list[TokenRecord]:
        with self._lock:
            return self._read()

    def authenticate(self, token: str) -> Principal | None:
        """The principal a token belongs to, or None for an unknown token."""
        with self._lock:
            self._refresh()
            record = self._by_digest.get(digest(token))
        return None if record is None else Principal(name=record.name, role=record.role)

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Serialise writers across processes (two `token create` at once lose nothing)."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.with_suffix(".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _refresh(self) -> None:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            self._by_digest, self._loaded_stamp = {}, None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._loaded_stamp:
            self._by_digest = {r.sha256: r for r in self._read()}
            self._loaded_stamp = stamp

    def _read(self) -> list[TokenRecord]:
        try:
            return _RECORDS.validate_json(self._path.read_bytes())
        except FileNotFoundError:
            return []

    def _write(self, records: list[TokenRecord]) -> None:
        tmp = self._path.with_suffix(".tmp")
        data = json.dumps([r.model_dump(mode="json") for r in records], indent=2)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(data + "\n")
        os.replace(tmp, self._path)
