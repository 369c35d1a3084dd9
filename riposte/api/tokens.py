"""Bearer tokens bound to roles, kept as SHA-256 digests in DATA_DIR/tokens.json.

A token is shown once, when it is minted; only its digest is stored, so the file is worth
nothing to whoever reads it. The store re-reads the file when it changes, so a token minted,
or revoked, by `riposte token create|revoke` takes effect on a running server at once.

A token's name is the identity the audit records, so names are unique (ignoring case, revoked
and expired tokens included: a name never comes to mean someone else), and the engine's own
names (`engine`, `anonymous`) are reserved. A token may expire; a revoked one is kept, listed as
revoked, and never authenticates again. A sender token can be bound to the alert sources it may
claim (`*` claims any).
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
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from riposte.errors import InvalidInput, NotFound
from riposte.model import Frozen

TOKEN_PREFIX = "rpt_"  # noqa: S105 (a prefix, not a secret)
TOKENS_FILE = "tokens.json"
RESERVED_NAMES = frozenset({"engine", "anonymous"})  # the engine's own actors in the audit
ANY_SOURCE = "*"


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
    sources: tuple[str, ...] = ()  # the alert sources it may claim; () or "*": any

    def may_claim(self, source: str) -> bool:
        return not self.sources or ANY_SOURCE in self.sources or source in self.sources


class TokenState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


Source = Field(min_length=1, max_length=64, pattern=r"^(\*|[A-Za-z0-9._:@-]+)$")


class TokenRecord(Frozen):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@+-]+$")
    role: Role
    sha256: str
    created: datetime
    sources: tuple[Annotated[str, Source], ...] = ()
    expires: datetime | None = None
    revoked: datetime | None = None

    def state(self, now: datetime) -> TokenState:
        if self.revoked is not None:
            return TokenState.REVOKED
        if self.expires is not None and now >= self.expires:
            return TokenState.EXPIRED
        return TokenState.ACTIVE


class UnknownToken(NotFound):
    """`revoke` named no token."""


_RECORDS = TypeAdapter(list[TokenRecord])


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """The tokens of one data directory."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._by_digest: dict[str, TokenRecord] = {}
        self._loaded_stamp: tuple[int, int, int] | None = None

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> TokenStore:
        return cls(data_dir / TOKENS_FILE)

    def create(
        self,
        role: Role,
        name: str,
        *,
        sources: tuple[str, ...] = (),
        expires_in: timedelta | None = None,
    ) -> str:
        """Mint a token for `name` with `role`, store its digest, and return it (the only time
        it is ever seen). Raises InvalidInput for a bad, reserved or taken name."""
        if name.casefold() in RESERVED_NAMES:
            raise InvalidInput(f"{name!r} is reserved for the engine", location="name")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        try:
            record = TokenRecord(
                name=name,
                role=role,
                sha256=digest(token),
                created=now,
                sources=tuple(dict.fromkeys(sources)),
                expires=now + expires_in if expires_in is not None else None,
            )
        except ValidationError as err:
            field = str(err.errors()[0]["loc"][0])
            if field == "sources":
                raise InvalidInput(
                    "a source is 1-64 of A-Za-z0-9._:@-, or * for any", location="source"
                ) from err
            raise InvalidInput("a name is 1-128 letters, digits or _.@+-", location="name") from err
        with self._lock, self._file_lock():
            records = self._read()
            if any(r.name.casefold() == name.casefold() for r in records):
                raise InvalidInput(f"a token named {name!r} exists already", location="name")
            self._write([*records, record])
        return token

    def revoke(self, name: str) -> TokenRecord:
        """Revoke the token named `name`: from now on it authenticates nothing (console sessions
        on it end with their next request). Revoking twice is harmless."""
        with self._lock, self._file_lock():
            records = self._read()
            for index, record in enumerate(records):
                if record.name.casefold() == name.casefold():
                    if record.revoked is None:
                        record = record.model_copy(update={"revoked": datetime.now(UTC)})
                        records[index] = record
                        self._write(records)
                    return record
        raise UnknownToken(f"no token named {name!r}")

    def records(self) -> list[TokenRecord]:
        with self._lock:
            return self._read()

    def authenticate(self, token: str) -> Principal | None:
        """The principal a token belongs to, or None for an unknown, expired or revoked one."""
        with self._lock:
            self._refresh()
            record = self._by_digest.get(digest(token))
        if record is None or record.state(datetime.now(UTC)) is not TokenState.ACTIVE:
            return None
        return Principal(name=record.name, role=record.role, sources=record.sources)

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
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
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
