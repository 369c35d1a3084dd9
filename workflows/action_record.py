"""The workflow's record of one planned action, and the errors its updates answer with.

Deterministic code only: this module runs inside `RespondToAlert`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from riposte.actions.catalogue import CATALOGUE
    from riposte.actions.payloads import ActionResult
    from riposte.failures import FailureType
    from riposte.response import ActionState, ActionView, Decision, PlannedAction, Release


class UnknownAction(ApplicationError):
    """An update named an action this response does not have."""

    def __init__(self, action_id: str) -> None:
        super().__init__(f"no action {action_id} in this response", type=FailureType.UNKNOWN_ACTION)


class ActionNotInState(ApplicationError):
    """An update the action's current state does not allow; carries that state."""

    def __init__(self, action_id: str, state: ActionState, wanted: str) -> None:
        super().__init__(
            f"action {action_id} is {state.value}, not {wanted}",
            state.value,
            type=FailureType.ACTION_NOT_IN_STATE,
        )


class SenderMayNotDecide(ApplicationError):
    """Separation of duties: the principal that sent the alert may not decide on its actions."""

    def __init__(self, action_id: str, sender: str, *, of_incident: bool = False) -> None:
        sent = "sent an alert of this incident" if of_incident else "sent this alert"
        super().__init__(
            f"{sender} {sent}, so it may not decide on action {action_id}: "
            "separation of duties needs another principal",
            type=FailureType.SENDER_MAY_NOT_DECIDE,
        )


class AlreadyApproved(ApplicationError):
    """The same principal approving an action twice (M-of-N needs distinct principals)."""

    def __init__(self, action_id: str, by: str, state: ActionState) -> None:
        super().__init__(
            f"{by} has approved action {action_id} already; another principal must approve",
            state.value,
            type=FailureType.ALREADY_APPROVED,
        )


@dataclass
class ActionRecord:
    """The workflow's mutable record of one planned action."""

    plan: PlannedAction
    state: ActionState = ActionState.PLANNED
    change: str = ""
    api_calls: tuple[str, ...] = ()
    decision: Decision | None = None
    release: Release | None = None
    result: ActionResult | None = None
    revert_at: datetime | None = None
    error: str = ""
    answerable: bool = False  # open for a decision: set and cleared with no await in between
    holding: bool = False  # executed and waiting for its revert (timer or release)
    approvals: list[Decision] = field(default_factory=list)  # M-of-N: approvals short of N
    over_budget: str = ""  # why an autonomous action waits for approval instead

    @property
    def reversible(self) -> bool:
        return CATALOGUE[self.plan.action].reversible

    def view(self) -> ActionView:
        p = self.plan
        who = self.release or self.decision
        return ActionView(
            action_id=p.action_id,
            action=p.action,
            target=p.target,
            mode=p.mode,
            state=self.state,
            policy=p.policy,
            policy_hash=p.policy_hash,
            change=self.change,
            api_calls=self.api_calls,
            revert_at=self.revert_at,
            decided_by=who.by if who else "",
            decided_unauthenticated=who is not None and not who.authenticated,
            comment=self.why(),
            error=self.error,
            result=self.result,
            approvers=p.approvers,
            approved_by=self.approved_by(),
            over_budget=self.over_budget,
        )

    def approved_by(self) -> tuple[str, ...]:
        final = (self.decision.by,) if self.decision and self.decision.approve else ()
        return (*(a.by for a in self.approvals), *final)

    def why(self) -> str:
        """The decider's words: the comment, and for a rejection its reason."""
        who = self.release or self.decision
        if who is None:
            return ""
        reason = self.decision.reason if self.decision and not self.decision.approve else ""
        return "; ".join(part for part in (reason, who.comment) if part)
