"""One user's mailbox through msgraph: inbox rules, folders and messages, as plain values.

Every message call sends `Prefer: IdType="ImmutableId"`, so a message keeps its id when it is
moved and a release can find it again. Lists follow `@odata.nextLink` to the end. Inbox rules
cross this seam as Graph's own JSON (camelCase), which is what the revert saves.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.serialization import Parsable, ParsableFactory
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter
from msgraph.generated.models.mail_folder import MailFolder
from msgraph.generated.models.message import Message
from msgraph.generated.models.message_rule import MessageRule
from msgraph.generated.users.item.mail_folders.item.mail_folder_item_request_builder import (
    MailFolderItemRequestBuilder,
)
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import (
    MessagesRequestBuilder as FolderMessagesRequestBuilder,
)
from msgraph.generated.users.item.mail_folders.mail_folders_request_builder import (
    MailFoldersRequestBuilder,
)
from msgraph.generated.users.item.messages.item.move.move_post_request_body import (
    MovePostRequestBody,
)
from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from activities.errors import status_of
from riposte.model import Frozen

IMMUTABLE_IDS = 'IdType="ImmutableId"'
READ_ONLY_RULE_FIELDS = frozenset({"id", "hasError", "isReadOnly"})
_MESSAGE_FIELDS = [
    "id",
    "internetMessageId",
    "parentFolderId",
    "subject",
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
]
_PAGE = 100
P = TypeVar("P", bound=Parsable)


class MessageRef(Frozen):
    """A message as the actions need it: where it is, and who else received it."""

    user: str
    id: str  # immutable id
    internet_message_id: str
    folder_id: str
    subject: str = ""
    recipients: tuple[str, ...] = ()


class Mailbox:
    """Reads and writes on one user's mailbox."""

    def __init__(self, graph: GraphServiceClient, user: str) -> None:
        self.graph = graph
        self.user = user
        self._me = graph.users.by_user_id(user)

    # Inbox rules

    async def rules(self) -> list[dict[str, Any]]:
        """The inbox rules, each as Graph's JSON."""
        builder = self._me.mail_folders.by_mail_folder_id("inbox").message_rules
        page = await builder.get()
        found: list[dict[str, Any]] = []
        while page is not None:
            found.extend(to_json(rule) for rule in page.value or [])
            if not page.odata_next_link:
                break
            page = await builder.with_url(page.odata_next_link).get()
        return found

    async def delete_rule(self, rule_id: str) -> bool:
        """Delete a rule; False when it was already gone."""
        builder = self._me.mail_folders.by_mail_folder_id("inbox").message_rules
        try:
            await builder.by_message_rule_id(rule_id).delete()
        except Exception as err:
            if status_of(err) == 404:
                return False
            raise
        return True

    async def create_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        """Create a rule from saved JSON, without its read-only fields."""
        body = from_json(creatable(rule), MessageRule)
        builder = self._me.mail_folders.by_mail_folder_id("inbox").message_rules
        created = await builder.post(body)
        return to_json(created) if created is not None else {}

    # Folders

    async def folder_name(self, folder_id: str) -> str | None:
        """A folder's display name; None when there is no such folder."""
        query = MailFolderItemRequestBuilder.MailFolderItemRequestBuilderGetQueryParameters(
            select=["id", "displayName"]
        )
        try:
            folder = await self._me.mail_folders.by_mail_folder_id(folder_id).get(
                RequestConfiguration(query_parameters=query)
            )
        except Exception as err:
            if status_of(err) == 404:
                return None
            raise
        return folder.display_name if folder is not None else None

    async def folder_id(self, folder: str) -> str | None:
        """The id of a folder given by well-known name ("sentitems") or id; None when missing."""
        query = MailFolderItemRequestBuilder.MailFolderItemRequestBuilderGetQueryParameters(
            select=["id", "displayName"]
        )
        try:
            found = await self._me.mail_folders.by_mail_folder_id(folder).get(
                RequestConfiguration(query_parameters=query)
            )
        except Exception as err:
            if status_of(err) == 404:
                return None
            raise
        return str(found.id) if found is not None and found.id else None

    async def top_folder(self, name: str) -> str | None:
        """The id of the top-level folder with this display name (ignoring case), if any."""
        builder = self._me.mail_folders
        query = MailFoldersRequestBuilder.MailFoldersRequestBuilderGetQueryParameters(
            select=["id", "displayName"], top=_PAGE
        )
        page = await builder.get(RequestConfiguration(query_parameters=query))
        while page is not None:
            for folder in page.value or []:
                if (folder.display_name or "").lower() == name.lower() and folder.id:
                    return str(folder.id)
            if not page.odata_next_link:
                break
            page = await builder.with_url(page.odata_next_link).get()
        return None

    async def create_folder(self, name: str) -> str:
        """Create a top-level folder and return its id."""
        created = await self._me.mail_folders.post(MailFolder(display_name=name))
        return str(created.id) if created is not None and created.id else ""

    # Messages

    async def find(self, internet_message_id: str) -> list[MessageRef]:
        """Every copy of a message in this mailbox, by internetMessageId."""
        escaped = internet_message_id.replace("'", "''")
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=f"internetMessageId eq '{escaped}'", select=_MESSAGE_FIELDS, top=_PAGE
        )
        return await self._messages(self._me.messages.get, self._me.messages.with_url, query)

    async def sent_since(self, since: datetime) -> list[MessageRef]:
        """The messages in Sent Items sent at or after `since`."""
        when = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        builder = self._me.mail_folders.by_mail_folder_id("sentitems").messages
        query = FolderMessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=f"sentDateTime ge {when}", select=_MESSAGE_FIELDS, top=_PAGE
        )
        return await self._messages(builder.get, builder.with_url, query)

    async def message(self, message_id: str) -> MessageRef | None:
        """One message by its immutable id; None when it is gone."""
        try:
            found = await self._me.messages.by_message_id(message_id).get(_immutable())
        except Exception as err:
            if status_of(err) == 404:
                return None
            raise
        return self._ref(found) if found is not None else None

    async def move(self, message_id: str, folder_id: str) -> str:
        """Move a message; returns its (unchanged, immutable) id."""
        body = MovePostRequestBody(destination_id=folder_id)
        moved = await self._me.messages.by_message_id(message_id).move.post(body, _immutable())
        return str(moved.id) if moved is not None and moved.id else message_id

    async def _messages(
        self,
        get: Callable[[RequestConfiguration[Any]], Awaitable[Any]],
        with_url: Callable[[str], Any],
        query: Any,
    ) -> list[MessageRef]:
        config = _immutable(query)
        page = await get(config)
        found: list[MessageRef] = []
        while page is not None:
            found.extend(self._ref(message) for message in page.value or [])
            if not page.odata_next_link:
                break
            page = await with_url(page.odata_next_link).get(_immutable())
        return found

    def _ref(self, message: Message) -> MessageRef:
        addresses = [
            (recipient.email_address.address or "")
            for recipient in [
                *(message.to_recipients or []),
                *(message.cc_recipients or []),
                *(message.bcc_recipients or []),
            ]
            if recipient.email_address is not None
        ]
        return MessageRef(
            user=self.user,
            id=str(message.id or ""),
            internet_message_id=str(message.internet_message_id or ""),
            folder_id=str(message.parent_folder_id or ""),
            subject=str(message.subject or ""),
            recipients=tuple(address for address in addresses if address),
        )


def creatable(rule: dict[str, Any]) -> dict[str, Any]:
    """A saved rule without the fields Graph sets itself (id, hasError, isReadOnly, @odata.*)."""
    return {
        key: value
        for key, value in rule.items()
        if key not in READ_ONLY_RULE_FIELDS and not key.startswith("@odata")
    }


def to_json(value: Parsable) -> dict[str, Any]:
    """A kiota model as the JSON Graph sends."""
    writer = JsonSerializationWriter()
    writer.write_object_value(None, value)
    data: dict[str, Any] = json.loads(writer.get_serialized_content() or b"{}")
    return data


def from_json(data: dict[str, Any], factory: ParsableFactory[P]) -> P:
    """A kiota model from Graph's JSON."""
    node = JsonParseNodeFactory().get_root_parse_node("application/json", json.dumps(data).encode())
    return node.get_object_value(factory)


def _immutable(query: Any = None) -> RequestConfiguration[Any]:
    config: RequestConfiguration[Any] = RequestConfiguration(query_parameters=query)
    config.headers.add("Prefer", IMMUTABLE_IDS)
    return config
