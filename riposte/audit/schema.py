"""Schema migrations: plain numbered SQL files, one folder per backend, applied on start.

`migrations/<backend>/0001_initial.sql`, `0002_...sql`: each file is one version, applied once,
in order, in one transaction with its row in `schema_version`. Versions need not be contiguous
(numbers are handed out ahead of the work, which lands in any order): a store applies every
shipped version it has no row for, so a version that lands after a higher one is still applied.
A store refuses to open a schema holding a version it does not ship (`SchemaTooNew`), so old code
never writes to a chain whose rules it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from riposte.errors import Unavailable

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class Backend(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


class SchemaTooNew(Unavailable):
    """The store's schema was written by a newer Riposte than this one."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the audit store's schema is version {found}, newer than the {known} this Riposte "
            "knows; upgrade Riposte before using this store"
        )
        self.found = found
        self.known = known


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: Backend) -> tuple[Migration, ...]:
    """The backend's migrations, by version; versions run 1, 2, 3... without gaps."""
    folder = resources.files("riposte.audit").joinpath("migrations", backend.value)
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    if not found:
        raise RuntimeError(f"no {backend} migrations shipped: is the package data installed?")
    versions = [m.version for m in found]
    if versions[0] != 1 or len(set(versions)) != len(versions):
        raise RuntimeError(
            f"{backend} migrations start at 1, one file a version: {[m.name for m in found]}"
        )
    return tuple(found)


def pending(backend: Backend, applied: Collection[int]) -> tuple[Migration, ...]:
    """What to apply to a schema holding the `applied` versions (none: empty), in order;
    refuses a schema holding a version this code does not ship."""
    known = migrations(backend)
    unknown = set(applied) - {m.version for m in known}
    if unknown:
        raise SchemaTooNew(max(unknown), known[-1].version)
    return tuple(m for m in known if m.version not in applied)
