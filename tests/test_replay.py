"""Responses recorded with earlier workflow code replay against the current code.

The histories under tests/histories/VERSION/ were recorded by running the response tests with
RIPOSTE_RECORD_HISTORIES=VERSION: v1 before the `ResponseTargets` search attribute was added
(a workflow.patched branch), v2 after, v6-catalogue once policy snapshots carried each action's
parameters as its catalogue entry's model (`{name, params}` instead of flat fields), and
v9-snapshot-activity once the policy snapshot became a regular activity. A change to
`RespondToAlert` that would break a response in flight (which can wait hours for its revert) fails
here as non-determinism.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.respond_to_alert import RespondToAlert
from workflows.track_incident import TrackIncident

HISTORIES = sorted((Path(__file__).parent / "histories").glob("v*/*.json"))


def test_there_are_recorded_histories_to_replay() -> None:
    """The replay test has histories covering every mode and ending."""
    for version in ("v1", "v2", "v6-catalogue"):
        names = " ".join(p.name for p in HISTORIES if p.parent.name == version)
        for scenario in ("passive", "approve", "reject", "expires", "revert", "release", "cancel"):
            assert scenario in names, f"{version} has no {scenario} response"


def test_there_are_recorded_incident_histories_to_replay() -> None:
    """Incidents (TrackIncident) and escalated responses are among the recorded histories."""
    incidents = [p for p in HISTORIES if p.parent.name == "v5-incidents"]
    ids = [json.loads(p.read_text())["workflow_id"] for p in incidents]
    assert any(i.startswith("incident:") for i in ids)
    assert any('"escalate"' in p.read_text() for p in incidents)  # the signal's name


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_recorded_response_replays_on_current_code(path: Path) -> None:
    """Replaying a recorded history raises no non-determinism error."""
    recorded = json.loads(path.read_text())  # noqa: ASYNC240
    history = WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])
    replayer = Replayer(
        workflows=[RespondToAlert, TrackIncident], data_converter=pydantic_data_converter
    )
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
