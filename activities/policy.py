"""The policy snapshot activity: load the policies folder into an immutable `PolicySnapshot`.

It refuses to snapshot a folder in which any file has an error (a non-retryable ApplicationError
listing every `FILE:LINE: message`), so a response never runs on half a policy set. The last
snapshot is reused while no file's name, modification time or size has changed, so a response
pays a directory listing, not a YAML parse.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.exceptions import ApplicationError

from riposte.failures import FailureType
from riposte.policy.loader import load_policies, policy_files, snapshot_of
from riposte.policy.snapshot import SNAPSHOT_POLICIES, PolicySnapshot, SnapshotRequest
from riposte.settings import Settings

Fingerprint = tuple[tuple[str, int, int], ...]


class PolicyActivities:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cached: tuple[Fingerprint, PolicySnapshot] | None = None
        self._lock = asyncio.Lock()

    @SNAPSHOT_POLICIES.defn
    async def snapshot_policies(self, _: SnapshotRequest) -> PolicySnapshot:
        """The current policies and engine-wide settings, as one immutable snapshot."""
        async with self._lock:
            self._cached = await asyncio.to_thread(self._load, self._cached)
            return self._cached[1]

    def _load(
        self, cached: tuple[Fingerprint, PolicySnapshot] | None
    ) -> tuple[Fingerprint, PolicySnapshot]:
        folder = self._settings.policies_dir
        if not folder.is_dir():
            raise ApplicationError(
                f"no policies folder at {folder}",
                type=FailureType.NO_POLICY_DIR,
                non_retryable=True,
            )
        fingerprint = _fingerprint(folder)
        if cached is not None and cached[0] == fingerprint:
            return cached
        loaded = load_policies([folder])
        if loaded.errors:
            raise ApplicationError(
                "\n".join(str(error) for error in loaded.errors),
                type=FailureType.INVALID_POLICY,
                non_retryable=True,
            )
        return fingerprint, snapshot_of(loaded.policies, self._settings)


def _fingerprint(folder: Path) -> Fingerprint:
    stats = ((path, path.stat()) for path in policy_files([folder]))
    return tuple((str(path), stat.st_mtime_ns, stat.st_size) for path, stat in stats)
