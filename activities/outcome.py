"""Building the `ActionResult` every action and revert returns."""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from riposte.actions.payloads import ActionInput, ActionResult, RevertInput, RevertState

_log = structlog.get_logger("riposte.activities")


def outcome(
    request: ActionInput | RevertInput,
    *,
    changed: bool,
    summary: str,
    calls: Iterable[str] = (),
    revert: RevertState | None = None,
) -> ActionResult:
    """The result of one action or revert.

    `calls` are the writes made, or, when simulating, the writes that would be made; reads are
    left out. A revert returns an empty `revert`: undoing an undo is not offered.
    """
    _log.info(
        "tenant action",
        response_id=request.response_id,
        action_id=request.action_id,
        action=request.action.value,
        target=request.target,
        revert=isinstance(request, RevertInput),
        changed=changed,
        summary=summary,
    )
    return ActionResult(
        action_id=request.action_id,
        action=request.action,
        target=request.target,
        changed=changed,
        summary=summary,
        api_calls=tuple(calls),
        revert=revert or RevertState(),
    )


def quoted(names: Iterable[str]) -> str:
    """ "'.', 'RSS Feeds'": names as the summaries show them."""
    return ", ".join(f"'{name}'" for name in names)
