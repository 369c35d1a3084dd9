"""The payloads every action activity shares: one input, one result, one revert input.

`ActionName` names the catalogue's entries (`riposte.actions.catalogue` describes each). An action
activity takes an `ActionInput` and returns an `ActionResult`; its revert takes a
`RevertInput` and returns an `ActionResult`. `simulate=True` reads current state where it can and
describes the exact change, changing nothing.
"""

from __future__ import annotations

from datetime import datetime
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
    ENFORCE_PATTERN_OF_LIFE = "enforce_pattern_of_life"
    BLOCK_SIGN_IN_FROM = "block_sign_in_from"
    FORCE_PASSWORD_CHANGE = "force_password_change"  # noqa: S105 (an action name)
    REMOVE_AUTH_METHODS = "remove_auth_methods"
    REVOKE_APP_CONSENTS = "revoke_app_consents"


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
    learn_seconds: int | None = Field(default=None, gt=0)  # enforce_pattern_of_life
    min_days: int | None = Field(default=None, ge=1)
    fallback: ActionName | None = None  # what to do instead when there is no flow history
    prefix: int | None = None  # block_sign_in_from: the IPv4 range's prefix length
    prefix_v6: int | None = None  # and the IPv6 one
    since: datetime | None = None  # the window's start: the alert's time minus the window


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


class SavedGrant(Frozen):
    """An oauth2PermissionGrant's full JSON, saved before deletion so it can be re-created."""

    user: str
    grant: dict[str, Any]
    app: str = ""  # the client service principal's display name, for the summaries


class RevertState(Frozen):
    """What an action changed, so its revert can restore the earlier state exactly."""

    was_enabled: bool | None = None
    rules: tuple[SavedRule, ...] = ()
    moved: tuple[MovedMessage, ...] = ()
    nsg_rules: tuple[NsgRuleRef, ...] = ()
    ranges: tuple[str, ...] = ()  # CIDR ranges Riposte added to its named location
    methods: tuple[dict[str, Any], ...] = ()  # auth methods deleted: evidence, not re-creatable
    grants: tuple[SavedGrant, ...] = ()


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
