"""What each action needs in Microsoft 365 and Azure: the least-privilege grants, by name.

Graph (application permissions, with admin consent):

    action              calls                                         least privilege
    disable_sign_in     GET + PATCH /users/{id} accountEnabled        User.Read.All and
                                                                      User.EnableDisableAccount.All
    revoke_sessions     GET /users/{id}, POST .../revokeSignInSessions User.Read.All and
                                                                      User.RevokeSessions.All
    delete_inbox_rules  GET, DELETE, POST .../messageRules;           MailboxSettings.ReadWrite and
                        GET .../mailFolders/{id} (rule targets)       Mail.ReadBasic.All
    quarantine_mail     GET messages and folders, POST .../move,      Mail.ReadWrite
                        POST .../mailFolders (the quarantine folder)

User.ReadWrite.All covers every User.* need above, and Directory.ReadWrite.All more still;
Mail.Read and Mail.ReadWrite cover Mail.ReadBasic.All.

Azure (block_ports, block_outbound): the built-in role Network Contributor on the NSGs' resource
groups, or a custom role with `AZURE_ACTIONS`.
"""

from __future__ import annotations

from collections.abc import Iterable

from riposte.actions import ActionName
from riposte.model import Frozen

USER_READ = "User.Read.All"
USER_ENABLE_DISABLE = "User.EnableDisableAccount.All"
USER_REVOKE_SESSIONS = "User.RevokeSessions.All"
USER_READ_WRITE = "User.ReadWrite.All"
DIRECTORY_READ = "Directory.Read.All"
DIRECTORY_READ_WRITE = "Directory.ReadWrite.All"
MAILBOX_SETTINGS = "MailboxSettings.ReadWrite"
MAIL_READ_BASIC = "Mail.ReadBasic.All"
MAIL_READ = "Mail.Read"
MAIL_READ_WRITE = "Mail.ReadWrite"

AZURE_ROLE = "Network Contributor"
AZURE_ACTIONS = (
    "Microsoft.Network/networkSecurityGroups/read",
    "Microsoft.Network/networkSecurityGroups/securityRules/read",
    "Microsoft.Network/networkSecurityGroups/securityRules/write",
    "Microsoft.Network/networkSecurityGroups/securityRules/delete",
    "Microsoft.Network/locations/operations/read",
)
NETWORK_ACTIONS = frozenset({ActionName.BLOCK_PORTS, ActionName.BLOCK_OUTBOUND})


class Need(Frozen):
    """One Graph permission an action needs, and the broader ones that also grant it."""

    permission: str
    covered_by: tuple[str, ...] = ()

    def met_by(self, roles: Iterable[str]) -> bool:
        granted = set(roles)
        return self.permission in granted or not granted.isdisjoint(self.covered_by)

    @property
    def advice(self) -> str:
        return graph_advice(self.permission)


READ_USERS = Need(
    permission=USER_READ,
    covered_by=(USER_READ_WRITE, DIRECTORY_READ, DIRECTORY_READ_WRITE),
)
ENABLE_DISABLE = Need(
    permission=USER_ENABLE_DISABLE, covered_by=(USER_READ_WRITE, DIRECTORY_READ_WRITE)
)
REVOKE_SESSIONS = Need(
    permission=USER_REVOKE_SESSIONS, covered_by=(USER_READ_WRITE, DIRECTORY_READ_WRITE)
)
INBOX_RULES = Need(permission=MAILBOX_SETTINGS)
FOLDER_NAMES = Need(permission=MAIL_READ_BASIC, covered_by=(MAIL_READ, MAIL_READ_WRITE))
MOVE_MAIL = Need(permission=MAIL_READ_WRITE)

GRAPH_NEEDS: dict[ActionName, tuple[Need, ...]] = {
    ActionName.DISABLE_SIGN_IN: (READ_USERS, ENABLE_DISABLE),
    ActionName.REVOKE_SESSIONS: (READ_USERS, REVOKE_SESSIONS),
    ActionName.DELETE_INBOX_RULES: (INBOX_RULES, FOLDER_NAMES),
    ActionName.QUARANTINE_MAIL: (MOVE_MAIL,),
}


def graph_advice(permission: str) -> str:
    return f"grant the Graph application permission {permission} (with admin consent)"


def azure_advice(scope: str) -> str:
    return f"assign the Azure role {AZURE_ROLE} on {scope}, or a custom role with " + ", ".join(
        AZURE_ACTIONS
    )


def missing_graph(actions: Iterable[ActionName], roles: Iterable[str]) -> dict[str, list[str]]:
    """The Graph permissions `actions` need that `roles` do not grant: permission -> actions."""
    granted = tuple(roles)
    missing: dict[str, list[str]] = {}
    for action in sorted(set(actions), key=list(ActionName).index):
        for need in GRAPH_NEEDS.get(action, ()):
            if not need.met_by(granted):
                missing.setdefault(need.permission, []).append(action.value)
    return missing
