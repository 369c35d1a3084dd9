"""Hostile policy folders: absurd nesting and symlinks out of the folder are plain policy errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.policy import PolicyActivities
from riposte.failures import FailureType
from riposte.policy.loader import load_policies
from riposte.policy.snapshot import SnapshotRequest
from riposte.policy.yaml_lines import MAX_DEPTH
from riposte.settings import Settings

SECRET = "root:$6$not-for-the-audit:19000:0:99999:7:::"
GOOD = "name: good\nmatch: {source: darktrace, entities: [user]}\nactions: [revoke_sessions]\n"


def deep_flow(depth: int) -> str:
    return "name: deep\nmatch: " + "[" * depth + "]" * depth + "\nactions: [revoke_sessions]\n"


def deep_block(depth: int) -> str:
    return "name: deep\nmatch:\n" + "".join("  " * i + "k:\n" for i in range(1, depth)) + "\n"


@pytest.mark.parametrize("text", [deep_flow(20_000), deep_block(300)], ids=["flow", "block"])
def test_a_policy_nested_absurdly_deep_is_a_policy_error(tmp_path: Path, text: str) -> None:
    """A policy nested 20,000 deep (or past the limit by indentation) is one FILE:LINE error."""
    (tmp_path / "deep.yaml").write_text(text)
    loaded = load_policies([tmp_path])
    [error] = loaded.errors
    assert error.message == f"nested deeper than {MAX_DEPTH} levels"
    assert error.file == str(tmp_path / "deep.yaml")


async def test_the_snapshot_activity_refuses_a_deep_policy_without_retrying(tmp_path: Path) -> None:
    """The worker's snapshot fails typed and non-retryable, so the response is not held forever."""
    (tmp_path / "deep.yaml").write_text(deep_flow(20_000))
    with pytest.raises(ApplicationError) as refused:
        activities = PolicyActivities(Settings(policies_dir=tmp_path))
        await ActivityEnvironment().run(activities.snapshot_policies, SnapshotRequest())
    assert (refused.value.type, refused.value.non_retryable) == (FailureType.INVALID_POLICY, True)


def test_a_symlink_out_of_the_folder_is_refused_unread(tmp_path: Path) -> None:
    """A policy symlinked to a file outside the folder (think /etc/shadow) is an error that
    quotes nothing of the file; a symlink within the folder still loads."""
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "shadow").write_text(SECRET + "\n")
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "shadow.yaml").symlink_to(outside / "shadow")
    (policies / "real").mkdir()
    (policies / "real" / "good.yaml").write_text(GOOD)
    (policies / "good.yaml").symlink_to(policies / "real" / "good.yaml")
    loaded = load_policies([policies])
    assert [str(e) for e in loaded.errors] == [
        f"{policies / 'shadow.yaml'}:1: a symlink leading outside the policy folder"
    ]
    assert SECRET.split(":")[1] not in repr(loaded)
    assert [p.policy.name for p in loaded.policies] == ["good"]


def test_etc_shadow_itself_is_refused(tmp_path: Path) -> None:
    """The issue's own case: a link to /etc/shadow is refused before anything reads it."""
    (tmp_path / "shadow.yaml").symlink_to("/etc/shadow")
    [error] = load_policies([tmp_path]).errors
    assert error.message == "a symlink leading outside the policy folder"
