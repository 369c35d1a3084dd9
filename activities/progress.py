"""What an action saw before it changed anything, kept in its heartbeat so a retry can use it.

A retry that starts after the change landed, but before the result was recorded, would otherwise
read the changed tenant and lose the earlier state (a disabled user would look like one that was
disabled all along). Each action records its `RevertState` with `remember` before it writes, and
starts by asking `recall` for what an earlier attempt recorded.

Outside an activity (the `riposte act` command) both are no-ops.
"""

from __future__ import annotations

from temporalio import activity

from riposte.actions.payloads import RevertState


def remember(state: RevertState) -> None:
    """Record the state an attempt is about to change (sent as heartbeat details)."""
    if activity.in_activity():
        activity.heartbeat(state)


def recall() -> RevertState | None:
    """The state an earlier attempt of this activity recorded, if any."""
    if not activity.in_activity():
        return None
    details = activity.info().heartbeat_details
    if not details:
        return None
    last = details[-1]
    if isinstance(last, RevertState):
        return last
    return RevertState.model_validate(last)
