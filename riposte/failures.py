"""Every failure type Riposte puts on a Temporal `ApplicationError`, in one StrEnum.

Workflows, the service and the CLI branch on `ApplicationError.type` compared with these
members, never with a string literal and never with the message text.

    FailureType
    ├── tenant calls (activities/errors.py translates SDK errors into these)
    │   ├── Transient       retryable: 408, 429, 5xx, timeouts; Retry-After is the next delay
    │   ├── BadRequest      400, other 4xx, or input refused before any call     ─┐
    │   ├── Unauthorized    401, or the token endpoint refused the credential     │
    │   ├── Forbidden       403; the message names the permission the action needs │ non-
    │   ├── NotFound        404                                                    │ retryable
    │   ├── Conflict        409 that retrying cannot fix                           │
    │   ├── Configuration   settings point at something that does not exist       │
    │   ├── NoFlowLogConfiguration  no Network Watcher flow log covers the device  │
    │   ├── NoFlowLogs      a flow log covers it, but holds none of its flows      │
    │   ├── AllowListTooLarge  a pattern of life over its cap (setting)          │
    │   ├── NsgRuleShadowed an Allow rule comes before Riposte's band: no deny would hold
    │   └── NsgBandFull     no free priority in Riposte's band on the NSG        ─┘
    ├── InvalidAuditRecord  record_audit: a record the store refuses (e.g. no id)
    ├── policies (snapshot_policies)
    │   ├── InvalidPolicy   a file has errors; the message lists FILE:LINE: message
    │   └── NoPolicyDir     the configured policies folder does not exist
    └── workflow updates (decide, release)
        ├── UnknownAction       the update names an action the response does not have
        ├── ActionNotInState    the action's state does not allow it (details[0]: the state)
        ├── AlreadyApproved     the same principal approved this action before (details[0]: state)
        └── SenderMayNotDecide  the alert's own sender may not decide on its actions
"""

from __future__ import annotations

from enum import StrEnum

from temporalio.exceptions import ApplicationError


class FailureType(StrEnum):
    TRANSIENT = "Transient"
    BAD_REQUEST = "BadRequest"
    UNAUTHORIZED = "Unauthorized"
    FORBIDDEN = "Forbidden"
    NOT_FOUND = "NotFound"
    CONFLICT = "Conflict"
    CONFIGURATION = "Configuration"
    PROTECTED = "Protected"
    NO_FLOW_LOG_CONFIGURATION = "NoFlowLogConfiguration"
    NO_FLOW_LOGS = "NoFlowLogs"
    ALLOW_LIST_TOO_LARGE = "AllowListTooLarge"
    NSG_RULE_SHADOWED = "NsgRuleShadowed"
    NSG_BAND_FULL = "NsgBandFull"
    INVALID_AUDIT_RECORD = "InvalidAuditRecord"
    INVALID_POLICY = "InvalidPolicy"
    NO_POLICY_DIR = "NoPolicyDir"
    UNKNOWN_ACTION = "UnknownAction"
    ACTION_NOT_IN_STATE = "ActionNotInState"
    ALREADY_APPROVED = "AlreadyApproved"
    SENDER_MAY_NOT_DECIDE = "SenderMayNotDecide"


TENANT_PERMANENT = (
    FailureType.BAD_REQUEST,
    FailureType.UNAUTHORIZED,
    FailureType.FORBIDDEN,
    FailureType.NOT_FOUND,
    FailureType.CONFLICT,
    FailureType.CONFIGURATION,
    FailureType.NO_FLOW_LOG_CONFIGURATION,
    FailureType.NO_FLOW_LOGS,
    FailureType.ALLOW_LIST_TOO_LARGE,
    FailureType.NSG_RULE_SHADOWED,
    FailureType.NSG_BAND_FULL,
)
"""The tenant-call failures that retrying cannot fix."""


def refuse(message: str) -> ApplicationError:
    """Input refused before any call: a non-retryable BadRequest."""
    return ApplicationError(message, type=FailureType.BAD_REQUEST, non_retryable=True)


def misconfigured(message: str) -> ApplicationError:
    """Settings that cannot work (no NSG for the target, a missing NSG, no credential)."""
    return ApplicationError(message, type=FailureType.CONFIGURATION, non_retryable=True)


def protected(message: str) -> ApplicationError:
    """The target is protected (checked again inside the activity): never acted on."""
    return ApplicationError(message, type=FailureType.PROTECTED, non_retryable=True)
