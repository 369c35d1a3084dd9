"""Test helpers shipped with the package: inputs for one action, and running an activity once.

`run` drives an activity through temporalio's `ActivityEnvironment`, the way a worker would:
inside an activity context, with heartbeats captured, and optionally as a retry that sees the
heartbeat details an earlier attempt recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.testing import ActivityEnvironment

from riposte.actions.payloads import (
    ActionInput,
    ActionName,
    ActionParams,
    ActionResult,
    RevertInput,
)

RESPONSE_ID = "darktrace:test-1"


def action_input(
    action: ActionName,
    target: str,
    *,
    simulate: bool = False,
    response_id: str = RESPONSE_ID,
    action_id: str | None = None,
    **params: Any,
) -> ActionInput:
    """One action's input, as the workflow would pass it."""
    return ActionInput(
        response_id=response_id,
        action_id=action_id or f"{response_id}:{action.value}",
        action=action,
        target=target,
        params=ActionParams(**params),
        simulate=simulate,
    )


def revert_input(request: ActionInput, result: ActionResult) -> RevertInput:
    """The revert of an executed action, from its input and result."""
    return RevertInput(
        response_id=request.response_id,
        action_id=request.action_id,
        action=request.action,
        target=request.target,
        revert=result.revert,
    )


class Attempt:
    """One activity attempt; `heartbeats` holds what it recorded, for a following retry."""

    def __init__(self, retry_of: Attempt | None = None) -> None:
        self.heartbeats: list[Any] = []
        self.env = ActivityEnvironment()
        self.env.on_heartbeat = self._record
        if retry_of is not None:
            # A worker hands a retry the last details, decoded without a type hint (plain JSON).
            last = [_as_json(d) for d in retry_of.heartbeats[-1]] if retry_of.heartbeats else []
            attempt = retry_of.env.info.attempt + 1
            self.env.info = dataclasses.replace(
                self.env.info, attempt=attempt, heartbeat_details=last
            )

    async def run(self, fn: Callable[[Any], Awaitable[ActionResult]], arg: Any) -> ActionResult:
        return await self.env.run(fn, arg)

    def _record(self, *details: Any) -> None:
        if details:
            self.heartbeats.append(details)


async def run(fn: Callable[[Any], Awaitable[ActionResult]], arg: Any) -> ActionResult:
    """Run an activity once, as a first attempt."""
    return await Attempt().run(fn, arg)


def _as_json(detail: Any) -> Any:
    dump = getattr(detail, "model_dump", None)
    return dump(mode="json") if callable(dump) else detail
