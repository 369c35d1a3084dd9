"""The actions Riposte can take, and the one input and result every action activity shares.

An action activity takes an `ActionInput` and returns an `ActionResult`; its revert takes a
`RevertInput` and returns an `ActionResult`. `simulate=True` reads current state where it can and
describes the exact change, changing nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from riposte.model import Frozen


class ActionName(StrEnum):
    DISABLE_SIGN_IN = "disable_sign_in"
    REVOKE_SESSIONS = "revoke_sessions"
    DELETE_INBOX_RULES = "delete_inbox_rules"
    QUARANTINE_MAIL = "quarantine_mail"
    BLOCK_PORTS = "block_ports"
    BLOCK_OUTBOUND = "block_outbound"

    @property
    def target_entity(self) -> str:
        """The alert entity this action acts on."""
        return "ip" if self in (ActionName.BLOCK_PORTS, ActionName.BLOCK_OUTBOUND) else "user"

    @property
    def reversible(self) -> bool:
        return self in REVERT_ACTIVITY


class RuleSelection(StrEnum):
    """Which inbox rules `delete_inbox_rules` removes."""

    SUSPICIOUS = "suspicious"
    ALL = "all"


class ActionParams(Frozen):
    """Per-action parameters, from the policy and the alert. Unused fields stay empty."""

    which: RuleSelection = RuleSelection.SUSPICIOUS
    rule_names: tuple[str, ...] = ()  # inbox rules named in the alert
    message_ids: tuple[str, ...] = ()  # internetMessageIds named in the alert
    sent_within_seconds: int | None = Field(default=None, gt=0)
    ports: tuple[int, ...] = ()


class ActionInput(Frozen):
    response_id: str
    action_id: str
    action: ActionName
    target: str  # a UPN for Graph actions, an IP for network actions
    params: ActionParams = ActionParams()
    simulate: bool = False


class SavedRule(Frozen):
    """An inbox rule's full JSON, saved before deletion so it can be re-created."""

    user: str
    rule: dict[str, Any]


class MovedMessage(Frozen):
    """A message moved to quarantine, with its immutable id and the folder it came from."""

    user: str
    message_id: str  # immutable id in the quarantine folder
    from_folder_id: str


class NsgRuleRef(Frozen):
    """An NSG security rule Riposte created."""

    resource_group: str
    nsg: str
    rule: str


class RevertState(Frozen):
    """What an action changed, so its revert can restore the earlier state exactly."""

    was_enabled: bool | None = None
    rules: tuple[SavedRule, ...] = ()
    moved: tuple[MovedMessage, ...] = ()
    nsg_rules: tuple[NsgRuleRef, ...] = ()


class ActionResult(Frozen):
    action_id: str
    action: ActionName
    target: str
    changed: bool  # False when the tenant was already in the target state, or simulated
    summary: str  # exact, human-readable: "would delete 2 of 5 inbox rules: '.', 'RSS'"
    api_calls: tuple[str, ...] = ()  # e.g. "PATCH /users/{id} accountEnabled=false"
    revert: RevertState = RevertState()


class RevertInput(Frozen):
    response_id: str
    action_id: str
    action: ActionName
    target: str
    revert: RevertState


class ActionErrorType(StrEnum):
    """The `type` of the non-retryable ApplicationError an action raises. Workflows branch on it."""

    BAD_REQUEST = "BadRequest"  # 400, or input refused before any call
    UNAUTHORIZED = "Unauthorized"  # 401
    FORBIDDEN = "Forbidden"  # 403
    NOT_FOUND = "NotFound"  # 404
    CONFLICT = "Conflict"  # 409 that retrying cannot fix
    CONFIGURATION = "Configuration"  # e.g. no NSG protects the target
    TRANSIENT = "Transient"  # 429 / 5xx / timeouts: retryable, carries next_retry_delay


EXECUTE_ACTIVITY: dict[ActionName, str] = {name: name.value for name in ActionName}
"""The activity that carries out each action (activity names are the action names)."""

REVERT_ACTIVITY: dict[ActionName, str] = {
    ActionName.DISABLE_SIGN_IN: "enable_sign_in",
    ActionName.DELETE_INBOX_RULES: "restore_inbox_rules",
    ActionName.QUARANTINE_MAIL: "release_mail",
    ActionName.BLOCK_PORTS: "unblock",
    ActionName.BLOCK_OUTBOUND: "unblock",
}
"""The activity that undoes each reversible action."""
