"""Blob Storage's content: blobs by account, container and name (routes: storage)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from tenant_emulator.errors import StorageError


@dataclass
class Blob:
    content: bytes
    modified: dt.datetime
    etag: str = field(default_factory=lambda: f'"0x{uuid.uuid4().hex[:15].upper()}"')


@dataclass
class BlobStore:
    """Blobs by account, container and name; names keep their order for listing."""

    accounts: dict[str, dict[str, dict[str, Blob]]] = field(default_factory=dict)

    def put(self, account: str, container: str, name: str, content: bytes) -> Blob:
        blob = Blob(content, dt.datetime.now(dt.UTC))
        self.accounts.setdefault(account, {}).setdefault(container, {})[name] = blob
        return blob

    def container(self, account: str, container: str) -> dict[str, Blob]:
        if account not in self.accounts:
            raise StorageError(404, "ResourceNotFound", "The specified resource does not exist.")
        found = self.accounts[account].get(container)
        if found is None:
            raise StorageError(404, "ContainerNotFound", "The specified container does not exist.")
        return found

    def blob(self, account: str, container: str, name: str) -> Blob:
        found = self.container(account, container).get(name)
        if found is None:
            raise StorageError(404, "BlobNotFound", "The specified blob does not exist.")
        return found
