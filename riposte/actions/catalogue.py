"""The action catalogue: one entry per action, and everything else derives from it.

The policy language (its action names, parameters and target entities), the engine's planning,
the workflow's dispatch, the worker's registration, the permission checks, `riposte doctor` and
`riposte act` all read `CATALOGUE`; none keeps a list of its own. An entry is its descriptor
(`riposte.actions.descriptor`) and, when the action takes any, its parameters model.

Graph permissions are application permissions with admin consent. User.ReadWrite.All covers
every User.* need, Directory.ReadWrite.All more still; Mail.Read and Mail.ReadWrite cover
Mail.ReadBasic.All.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, model_validator

from riposte.actions.descriptor import (
    ActionDescriptor,
    ActionParameters,
    AzureRole,
    Need,
    Target,
    act_ref,
    revert_ref,
)
from riposte.actions.payloads import ActionName, ActionParams, ActionResult, RuleSelection
from riposte.activity_refs import ActivityRef
from riposte.alerts import Alert
from riposte.policy.choices import choice
from riposte.policy.durations import Duration

# Shared needs.

READ_USERS = Need(
    permission="User.Read.All",
    covered_by=("User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
)
READ_PROTECTED_ROLES = Need(
    permission="RoleManagement.Read.Directory",
    covered_by=(
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "RoleManagement.ReadWrite.Directory",
    ),
)
"""Reading the protected directory roles (activities/protection.py): the guard inside every user
action needs it to know their members, whatever the action itself needs."""
NETWORK_CONTRIBUTOR = AzureRole(
    role="Network Contributor",
    actions=(
        "Microsoft.Network/networkSecurityGroups/read",
        "Microsoft.Network/networkSecurityGroups/write",  # turning flushConnection on
        "Microsoft.Network/networkSecurityGroups/securityRules/read",
        "Microsoft.Network/networkSecurityGroups/securityRules/write",
        "Microsoft.Network/networkSecurityGroups/securityRules/delete",
        "Microsoft.Network/locations/operations/read",
    ),
)

# disable_sign_in: GET + PATCH /users/{id} accountEnabled=false; reverts with accountEnabled=true.

ENABLE_SIGN_IN = revert_ref("enable_sign_in")
DISABLE_SIGN_IN = ActionDescriptor(
    name=ActionName.DISABLE_SIGN_IN,
    target=Target.USER,
    act=act_ref("disable_sign_in"),
    revert=ENABLE_SIGN_IN,
    graph=(
        READ_USERS,
        Need(
            permission="User.EnableDisableAccount.All",
            covered_by=("User.ReadWrite.All", "Directory.ReadWrite.All"),
        ),
    ),
)

# revoke_sessions: POST /users/{id}/revokeSignInSessions; harmless to repeat, nothing to revert.

REVOKE_SESSIONS = ActionDescriptor(
    name=ActionName.REVOKE_SESSIONS,
    target=Target.USER,
    act=act_ref("revoke_sessions"),
    graph=(
        READ_USERS,
        Need(
            permission="User.RevokeSessions.All",
            covered_by=("User.ReadWrite.All", "Directory.ReadWrite.All"),
        ),
    ),
)

# delete_inbox_rules {which}: GET, DELETE .../messageRules (and GET .../mailFolders/{id} for the
# rules' target folders); reverts by re-creating the saved rules.


class DeleteInboxRulesParams(ActionParameters):
    which: Annotated[RuleSelection, BeforeValidator(choice(RuleSelection, "which"))] = (
        RuleSelection.SUSPICIOUS
    )

    def bind(self, alert: Alert) -> ActionParams:
        return ActionParams(which=self.which, rule_names=alert.entities.inbox_rules)


INBOX_RULES = Need(permission="MailboxSettings.ReadWrite")
RESTORE_INBOX_RULES = revert_ref("restore_inbox_rules")
DELETE_INBOX_RULES = ActionDescriptor(
    name=ActionName.DELETE_INBOX_RULES,
    target=Target.USER,
    act=act_ref("delete_inbox_rules"),
    revert=RESTORE_INBOX_RULES,
    params=DeleteInboxRulesParams,
    graph=(
        INBOX_RULES,
        Need(permission="Mail.ReadBasic.All", covered_by=("Mail.Read", "Mail.ReadWrite")),
    ),
)

# quarantine_mail {sent_within}: GET messages and folders, POST .../move (and .../mailFolders for
# the quarantine folder); reverts by moving each message back.


class QuarantineMailParams(ActionParameters):
    sent_within: Duration | None = None

    def bind(self, alert: Alert) -> ActionParams:
        return ActionParams(
            message_ids=alert.entities.messages, sent_within_seconds=self.sent_within
        )


MOVE_MAIL = Need(permission="Mail.ReadWrite")
RELEASE_MAIL = revert_ref("release_mail")
QUARANTINE_MAIL = ActionDescriptor(
    name=ActionName.QUARANTINE_MAIL,
    target=Target.USER,
    act=act_ref("quarantine_mail"),
    revert=RELEASE_MAIL,
    params=QuarantineMailParams,
    graph=(MOVE_MAIL,),
)

# block_ports {ports} and block_outbound: PUT an NSG deny rule; revert DELETEs it.


def _port(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"a port is a whole number from 1 to 65535, not {value!r}")
    return value


class BlockPortsParams(ActionParameters):
    ports: tuple[Annotated[int, BeforeValidator(_port)], ...] = ()

    @model_validator(mode="after")
    def _some_ports(self) -> Self:
        if not self.ports:
            raise ValueError("block_ports needs ports, like {ports: [445, 9401]}")
        return self

    def bind(self, alert: Alert) -> ActionParams:
        return ActionParams(ports=self.ports)


UNBLOCK = revert_ref("unblock")  # deletes the NSG rules either block recorded
BLOCK_PORTS = ActionDescriptor(
    name=ActionName.BLOCK_PORTS,
    target=Target.IP,
    act=act_ref("block_ports"),
    revert=UNBLOCK,
    params=BlockPortsParams,
    azure=NETWORK_CONTRIBUTOR,
)
BLOCK_OUTBOUND = ActionDescriptor(
    name=ActionName.BLOCK_OUTBOUND,
    target=Target.IP,
    act=act_ref("block_outbound"),
    revert=UNBLOCK,
    azure=NETWORK_CONTRIBUTOR,
)

# enforce_pattern_of_life {learn, min_days, fallback}: the device's NIC (GET networkInterfaces),
# the flow log covering it (GET networkWatchers/flowLogs) and its blobs (azure-storage-blob);
# then NSG Allow rules for what it normally reaches and a Deny of its other outbound traffic,
# in Riposte's band. Revert DELETEs them all (unblock).

FALLBACKS = (ActionName.BLOCK_OUTBOUND,)


class EnforcePatternOfLifeParams(ActionParameters):
    learn: Duration = 7 * 86400
    min_days: int = 2
    fallback: Annotated[ActionName, BeforeValidator(choice(ActionName, "fallback"))] | None = None

    @model_validator(mode="after")
    def _sane(self) -> Self:
        if not 1 <= self.min_days <= max(1, self.learn // 86400):
            raise ValueError(
                f"min_days must be from 1 to the days in learn ({self.learn // 86400}), "
                f"not {self.min_days}"
            )
        if self.fallback is not None and self.fallback not in FALLBACKS:
            choices = ", ".join(f.value for f in FALLBACKS)
            raise ValueError(f"fallback must be one of: {choices}; not {self.fallback.value}")
        return self

    def bind(self, alert: Alert) -> ActionParams:
        return ActionParams(
            learn_seconds=self.learn, min_days=self.min_days, fallback=self.fallback
        )


ENFORCE_PATTERN_OF_LIFE = ActionDescriptor(
    name=ActionName.ENFORCE_PATTERN_OF_LIFE,
    target=Target.IP,
    act=act_ref("enforce_pattern_of_life"),
    revert=UNBLOCK,
    params=EnforcePatternOfLifeParams,
    azure=AzureRole(
        role="Network Contributor, and Storage Blob Data Reader on the flow logs' account",
        actions=(
            *NETWORK_CONTRIBUTOR.actions,
            "Microsoft.Network/networkInterfaces/read",
            "Microsoft.Network/networkWatchers/read",
            "Microsoft.Network/networkWatchers/flowLogs/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
        ),
    ),
)

# block_sign_in_from {prefix: 32, prefix_v6: 128}: the attacker's public range into the
# ipNamedLocation "Riposte blocked sign-ins", which a Conditional Access policy blocks for every
# account but the protected ones (both created when missing); the revert removes only the ranges
# this action added. Private, reserved and too-wide ranges are refused.


def _prefix(low: int, high: int, family: str) -> Callable[[object], object]:
    def validate(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(
                f"an {family} prefix is a whole number from {low} to {high}, not {value!r} "
                f"(wider than /{low} blocks too much)"
            )
        return value

    return validate


class BlockSignInFromParams(ActionParameters):
    prefix: Annotated[int, BeforeValidator(_prefix(16, 32, "IPv4"))] = 32
    prefix_v6: Annotated[int, BeforeValidator(_prefix(48, 128, "IPv6"))] = 128

    def bind(self, alert: Alert) -> ActionParams:
        return ActionParams(prefix=self.prefix, prefix_v6=self.prefix_v6)


UNBLOCK_SIGN_IN_FROM = revert_ref("unblock_sign_in_from")
BLOCK_SIGN_IN_FROM = ActionDescriptor(
    name=ActionName.BLOCK_SIGN_IN_FROM,
    target=Target.IP,
    act=act_ref("block_sign_in_from"),
    revert=UNBLOCK_SIGN_IN_FROM,
    params=BlockSignInFromParams,
    graph=(
        Need(permission="Policy.Read.All"),
        Need(permission="Policy.ReadWrite.ConditionalAccess"),
        READ_USERS,  # the protected accounts' object ids, which the policy excludes
        READ_PROTECTED_ROLES,  # and the protected roles' template ids (excludeRoles)
    ),
    public_targets_only=True,  # an incident's private addresses are its devices, not attackers
)

# force_password_change: PATCH /users/{id} passwordProfile.forceChangePasswordNextSignIn=true,
# after reading it; not reversible.

FORCE_PASSWORD_CHANGE = ActionDescriptor(
    name=ActionName.FORCE_PASSWORD_CHANGE,
    target=Target.USER,
    act=act_ref("force_password_change"),
    graph=(
        READ_USERS,
        Need(
            permission="User-PasswordProfile.ReadWrite.All",
            covered_by=("User.ReadWrite.All", "Directory.ReadWrite.All"),
        ),
    ),
)

# remove_auth_methods {registered_within: 24h}: list the user's authentication methods, save
# those registered from that long before the alert onwards to the audit, then DELETE them; not
# reversible (the saved copy is evidence: an authenticator cannot be re-registered for someone).


class RemoveAuthMethodsParams(ActionParameters):
    registered_within: Duration = 24 * 3600

    def bind(self, alert: Alert) -> ActionParams:
        return ActionParams(since=alert.time - timedelta(seconds=self.registered_within))


REMOVE_AUTH_METHODS = ActionDescriptor(
    name=ActionName.REMOVE_AUTH_METHODS,
    target=Target.USER,
    act=act_ref("remove_auth_methods"),
    params=RemoveAuthMethodsParams,
    graph=(Need(permission="UserAuthenticationMethod.ReadWrite.All"),),
)

# revoke_app_consents {granted_within: 24h}: the user's oauth2PermissionGrants consented from that
# long before the alert onwards (dated by the directory audit's "Consent to application"), saved
# and DELETEd; the revert re-creates them from the saved copy.


class RevokeAppConsentsParams(ActionParameters):
    granted_within: Duration = 24 * 3600

    def bind(self, alert: Alert) -> ActionParams:
        return ActionParams(since=alert.time - timedelta(seconds=self.granted_within))


RESTORE_APP_CONSENTS = revert_ref("restore_app_consents")
REVOKE_APP_CONSENTS = ActionDescriptor(
    name=ActionName.REVOKE_APP_CONSENTS,
    target=Target.USER,
    act=act_ref("revoke_app_consents"),
    revert=RESTORE_APP_CONSENTS,
    params=RevokeAppConsentsParams,
    graph=(
        READ_USERS,
        Need(
            permission="DelegatedPermissionGrant.ReadWrite.All",
            covered_by=("Directory.ReadWrite.All",),
        ),
        Need(permission="AuditLog.Read.All"),  # when each grant was consented, and to what app
    ),
)

CATALOGUE: dict[ActionName, ActionDescriptor] = {
    entry.name: entry
    for entry in (
        DISABLE_SIGN_IN,
        REVOKE_SESSIONS,
        DELETE_INBOX_RULES,
        QUARANTINE_MAIL,
        BLOCK_PORTS,
        BLOCK_OUTBOUND,
        ENFORCE_PATTERN_OF_LIFE,
        BLOCK_SIGN_IN_FROM,
        FORCE_PASSWORD_CHANGE,
        REMOVE_AUTH_METHODS,
        REVOKE_APP_CONSENTS,
    )
}
"""Every action, in the order policies, help texts and reports list them."""


def activity_refs() -> list[ActivityRef[Any, ActionResult]]:
    """Every activity the catalogue names, once each (a revert can serve two actions)."""
    refs: dict[str, ActivityRef[Any, ActionResult]] = {}
    for entry in CATALOGUE.values():
        refs.setdefault(entry.act.name, entry.act)
        if entry.revert is not None:
            refs.setdefault(entry.revert.name, entry.revert)
    return list(refs.values())
