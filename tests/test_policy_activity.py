"""The `snapshot_policies` activity: a snapshot of the folder, cached, refused on any error."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.policy import PolicyActivities
from riposte.actions.catalogue import CATALOGUE
from riposte.failures import FailureType
from riposte.modes import Mode
from riposte.policy.snapshot import PolicySnapshot, SnapshotRequest
from riposte.settings import Settings

POLICY = """\
name: contain
match: {source: darktrace, entities: [user]}
mode: autonomous
actions: [revoke_sessions]
"""


async def snapshot(settings: Settings) -> PolicySnapshot:
    activities = PolicyActivities(settings)
    return await ActivityEnvironment().run(activities.snapshot_policies, SnapshotRequest())


async def test_the_snapshot_holds_the_policies_their_hashes_and_engine_settings(
    tmp_path: Path,
) -> None:
    """Each policy comes with the sha256 of its file; engine-wide settings come along."""
    path = tmp_path / "contain.yaml"
    path.write_text(POLICY)
    settings = Settings(
        policies_dir=tmp_path,
        default_mode=Mode.HUMAN_CONFIRM,
        force_passive=True,
        protected_users=("breakglass@contoso.com",),
        protected_ranges=("10.0.0.0/24",),
    )
    snap = await snapshot(settings)
    assert [(p.policy.name, p.hash) for p in snap.policies] == [
        ("contain", hashlib.sha256(path.read_bytes()).hexdigest())
    ]
    assert (snap.default_mode, snap.force_passive) == (Mode.HUMAN_CONFIRM, True)
    assert (snap.protected_users, snap.protected_ranges) == (
        ("breakglass@contoso.com",),
        ("10.0.0.0/24",),
    )


async def test_an_unchanged_folder_reuses_the_snapshot_and_an_edit_is_seen(tmp_path: Path) -> None:
    """The same object comes back while no file changed; an edit gives a new version."""
    path = tmp_path / "contain.yaml"
    path.write_text(POLICY)
    activities = PolicyActivities(Settings(policies_dir=tmp_path))
    env = ActivityEnvironment()
    first = await env.run(activities.snapshot_policies, SnapshotRequest())
    assert await env.run(activities.snapshot_policies, SnapshotRequest()) is first
    path.write_text(POLICY.replace("autonomous", "passive"))
    edited = await env.run(activities.snapshot_policies, SnapshotRequest())
    assert edited.policies[0].policy.mode is Mode.PASSIVE
    assert edited.policies[0].hash != first.policies[0].hash


async def test_a_folder_with_an_error_is_refused_listing_every_error(tmp_path: Path) -> None:
    """Any error refuses the whole snapshot: non-retryable, typed, every FILE:LINE listed."""
    (tmp_path / "contain.yaml").write_text(POLICY)
    (tmp_path / "bad.yaml").write_text(
        "name: bad\nmatch: {source: x}\nmode: fast\nactions: [nope]\n"
    )
    with pytest.raises(ApplicationError) as refused:
        await snapshot(Settings(policies_dir=tmp_path))
    assert refused.value.non_retryable
    assert refused.value.type == FailureType.INVALID_POLICY
    assert refused.value.message.splitlines() == [
        f"{tmp_path / 'bad.yaml'}:3: mode: unknown mode 'fast'; valid: passive, human-confirm,"
        " autonomous",
        f"{tmp_path / 'bad.yaml'}:4: actions[0].name: unknown action 'nope'; valid:"
        f" {', '.join(CATALOGUE)}",
    ]


async def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    """A policies folder that does not exist is a configuration error, not an empty set."""
    with pytest.raises(ApplicationError) as refused:
        await snapshot(Settings(policies_dir=tmp_path / "absent"))
    assert refused.value.non_retryable
    assert refused.value.type == FailureType.NO_POLICY_DIR
