"""Exchange Online mailboxes as Graph v1.0 serves them: folders, messages, inbox rules.

Message ids behave like Exchange's: the default (REST) id changes when a message moves to
another folder, while the immutable id (returned under `Prefer: IdType="ImmutableId"`) never
does. Either id finds the message. Folder ids are stable.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from tenant_emulator.errors import GraphError

# Graph's well-known folder names and the display name each has in a new mailbox.
WELL_KNOWN = {
    "inbox": "Inbox",
    "drafts": "Drafts",
    "sentitems": "Sent Items",
    "deleteditems": "Deleted Items",
    "junkemail": "Junk Email",
    "archive": "Archive",
    "outbox": "Outbox",
    "conversationhistory": "Conversation History",
}
# Top-level folders every new mailbox has that have no well-known name.
ORDINARY_DEFAULTS = ("RSS Feeds",)
ROOT = "msgfolderroot"
RULE_READ_ONLY = frozenset({"id", "hasError", "isReadOnly"})


def new_id(prefix: str, size: int = 48) -> str:
    return prefix + secrets.token_urlsafe(size) + "="


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


@dataclass
class Folder:
    id: str
    display_name: str
    parent_id: str
    well_known: str | None = None
    is_hidden: bool = False


@dataclass
class Message:
    immutable_id: str
    rest_id: str
    folder_id: str
    data: dict[str, Any]


@dataclass
class Mailbox:
    """One user's mailbox. `rules` are the inbox rules, as Graph messageRule JSON."""

    upn: str
    folders: dict[str, Folder] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    root_id: str = ""

    @classmethod
    def new(cls, upn: str, extra_folders: tuple[str, ...] = ()) -> Mailbox:
        box = cls(upn=upn, root_id=new_id("AAMkAGRoot"))
        box.folders[box.root_id] = Folder(box.root_id, "Top of Information Store", "", ROOT)
        for name, display in WELL_KNOWN.items():
            box.add_folder(display, box.root_id, well_known=name)
        for display in (*ORDINARY_DEFAULTS, *extra_folders):
            box.add_folder(display, box.root_id)
        return box

    # Folders

    def add_folder(
        self, display_name: str, parent_id: str, *, well_known: str | None = None
    ) -> Folder:
        if not display_name.strip():
            raise GraphError(400, "ErrorInvalidRequest", "The folder's displayName is required.")
        for folder in self.folders.values():
            same = folder.display_name.casefold() == display_name.casefold()
            if folder.parent_id == parent_id and same:
                raise GraphError(
                    409, "ErrorFolderExists", "A folder with the specified name already exists."
                )
        folder = Folder(new_id("AAMkAGFolder", 32), display_name, parent_id, well_known)
        self.folders[folder.id] = folder
        return folder

    def folder(self, key: str) -> Folder:
        """A folder by id or well-known name (case-insensitive), or Graph's 404."""
        if key in self.folders:
            return self.folders[key]
        for folder in self.folders.values():
            if folder.well_known and folder.well_known == key.lower():
                return folder
        raise not_found()

    def folder_json(self, folder: Folder) -> dict[str, Any]:
        inside = [m for m in self.messages if m.folder_id == folder.id]
        return {
            "id": folder.id,
            "displayName": folder.display_name,
            "parentFolderId": folder.parent_id,
            "childFolderCount": sum(1 for f in self.folders.values() if f.parent_id == folder.id),
            "unreadItemCount": sum(1 for m in inside if not m.data.get("isRead")),
            "totalItemCount": len(inside),
            "sizeInBytes": sum(len(str(m.data)) for m in inside),
            "isHidden": folder.is_hidden,
        }

    def children(self, parent_id: str) -> list[Folder]:
        return [f for f in self.folders.values() if f.parent_id == parent_id]

    # Messages

    def deliver(self, data: dict[str, Any], folder_id: str) -> Message:
        message = Message(new_id("AAkALgAAAAAA"), new_id("AAMkAGI2"), folder_id, data)
        self.messages.append(message)
        return message

    def message(self, key: str) -> Message:
        for message in self.messages:
            if key in (message.rest_id, message.immutable_id):
                return message
        raise not_found()

    def message_json(self, message: Message, *, immutable: bool) -> dict[str, Any]:
        return {
            "@odata.etag": f'W/"{message.data.get("changeKey", "")}"',
            "id": message.immutable_id if immutable else message.rest_id,
            **message.data,
            "parentFolderId": message.folder_id,
        }

    def move(self, key: str, destination: str) -> Message:
        """Move a message; its REST id changes, its immutable id stays."""
        message = self.message(key)
        target = self.folder(destination)
        if target.id == self.root_id:
            raise GraphError(400, "ErrorMoveCopyFailed", "The move or copy operation failed.")
        message.folder_id = target.id
        message.rest_id = new_id("AAMkAGI2")
        message.data["changeKey"] = secrets.token_urlsafe(12)
        return message

    # Inbox rules

    def rule(self, rule_id: str) -> dict[str, Any]:
        for rule in self.rules:
            if rule["id"] == rule_id:
                return rule
        raise not_found()

    def add_rule(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST messageRules: read-only properties are ignored; a new id is assigned."""
        if not str(body.get("displayName") or "").strip():
            raise GraphError(400, "ErrorInvalidRequest", "The rule's displayName is required.")
        rule = {k: v for k, v in body.items() if k not in RULE_READ_ONLY}
        rule = {k: v for k, v in rule.items() if not k.startswith("@odata.")}
        sequence = rule.get("sequence")
        if sequence is None:
            sequence = max((r["sequence"] for r in self.rules), default=0) + 1
        if not isinstance(sequence, int) or sequence < 1:
            raise GraphError(400, "ErrorInvalidRequest", "sequence must be a positive integer.")
        stored: dict[str, Any] = {
            "id": new_id("AQAAAJ", 6),
            "displayName": rule["displayName"],
            "sequence": sequence,
            "isEnabled": rule.get("isEnabled", True),
            "hasError": False,
            "isReadOnly": False,
            "conditions": rule.get("conditions") or {},
            "actions": rule.get("actions") or {},
        }
        if rule.get("exceptions"):
            stored["exceptions"] = rule["exceptions"]
        self.rules.append(stored)
        self.rules.sort(key=lambda r: r["sequence"])
        return stored

    def delete_rule(self, rule_id: str) -> None:
        self.rules.remove(self.rule(rule_id))

    def update_rule(self, rule_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        rule = self.rule(rule_id)
        rule.update({k: v for k, v in changes.items() if k not in RULE_READ_ONLY})
        self.rules.sort(key=lambda r: r["sequence"])
        return rule

    # The test seam's view

    def snapshot_messages(self) -> list[dict[str, Any]]:
        return [
            {
                "id": m.rest_id,
                "immutableId": m.immutable_id,
                "internetMessageId": m.data.get("internetMessageId"),
                "subject": m.data.get("subject"),
                "from": m.data["from"]["emailAddress"]["address"],
                "to": [r["emailAddress"]["address"] for r in m.data.get("toRecipients", [])],
                "sentDateTime": m.data.get("sentDateTime"),
                "receivedDateTime": m.data.get("receivedDateTime"),
                "isRead": m.data.get("isRead", False),
                "folder": self.folders[m.folder_id].display_name,
                "folderId": m.folder_id,
            }
            for m in self.messages
        ]

    def snapshot_folders(self) -> list[dict[str, Any]]:
        return [
            {"id": f.id, "displayName": f.display_name, "parentFolderId": f.parent_id}
            for f in self.folders.values()
            if f.id != self.root_id
        ]
