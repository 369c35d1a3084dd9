"""The emulated tenant: directory, mailboxes and NSGs, built from a seed and reset to it."""

from __future__ import annotations

import copy
import datetime as dt
import secrets
from typing import Any

from pydantic import ValidationError

from riposte.errors import InvalidInput
from tenant_emulator.blobs import BlobStore
from tenant_emulator.conditional_access import ConditionalAccess
from tenant_emulator.directory import Directory
from tenant_emulator.errors import GraphError
from tenant_emulator.flowlog_seed import FlowLogs, FlowLogSeed
from tenant_emulator.identity import Identity
from tenant_emulator.mailbox import Mailbox
from tenant_emulator.network import Network
from tenant_emulator.seed import Seed, SeedMail, resolve_time
from tenant_emulator.topology import Topology


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Tenant:
    """Everything the Graph and ARM routes read and change. Times resolve against load time."""

    def __init__(self, seed: Seed, *, now: dt.datetime | None = None) -> None:
        now = now or dt.datetime.now(dt.UTC)
        self.seed = seed
        self.id = seed.tenant.id
        self.domains = tuple(d.lower() for d in seed.tenant.domains)
        self.subscription = seed.tenant.subscription_id
        self.clients = {c.client_id: c.client_secret for c in seed.clients}
        self.directory = Directory(seed.users, now - dt.timedelta(days=400))
        self.mailboxes: dict[str, Mailbox] = {}
        for user in self.directory.users.values():
            upn = user["userPrincipalName"].lower()
            extra = seed.mailboxes[upn].folders if upn in seed.mailboxes else ()
            self.mailboxes[user["id"]] = Mailbox.new(upn, extra)
        for upn, box_seed in seed.mailboxes.items():
            box = self._seeded_mailbox(upn)
            for rule in box_seed.rules:
                box.add_rule(self._resolve_rule_folders(box, copy.deepcopy(rule)))
        for mail in sorted(seed.mail, key=lambda m: resolve_time(m.sent, now)):
            self._deliver(mail, now)
        self.network = Network(self.subscription, seed.nsgs, seed.tenant.location)
        self.location = seed.tenant.location
        try:
            self.identity = Identity(seed, self.directory, now)
            self.topology = Topology(self.network, seed.virtual_networks, seed.nics)
        except (GraphError, ValueError, KeyError) as err:
            raise InvalidInput(f"seed: {err}") from err
        self.blobs = BlobStore()
        self.flow_logs: FlowLogs | None = None
        if seed.flow_logs:
            try:
                flow_seed = FlowLogSeed.model_validate(seed.flow_logs)
                self.flow_logs = FlowLogs(
                    flow_seed, self.subscription, self.location, self.topology, self.blobs, now
                )
            except (ValidationError, ValueError) as err:
                raise InvalidInput(f"seed: flow_logs: {err}") from err
        self.conditional_access = ConditionalAccess(
            seed.named_locations, seed.conditional_access_policies
        )

    def _seeded_mailbox(self, upn: str) -> Mailbox:
        try:
            return self.mailbox(upn)
        except GraphError as err:
            raise InvalidInput(f"mailboxes: {upn} is not a user of the seed") from err

    def mailbox(self, user_key: str) -> Mailbox:
        """The mailbox of the user with this id or UPN, or Exchange's 404 for an unknown user."""
        try:
            user = self.directory.find(user_key)
        except GraphError as err:
            raise GraphError(
                404, "ErrorInvalidUser", f"The requested user '{user_key}' is invalid."
            ) from err
        return self.mailboxes[user["id"]]

    @staticmethod
    def _resolve_rule_folders(box: Mailbox, rule: dict[str, Any]) -> dict[str, Any]:
        actions = rule.get("actions") or {}
        for key in ("moveToFolder", "copyToFolder"):
            name = actions.get(key)
            if name is None:
                continue
            matches = [
                f for f in box.folders.values() if name in (f.display_name, f.well_known, f.id)
            ]
            if not matches:
                raise InvalidInput(f"mailboxes: {box.upn}: rule folder {name!r} does not exist")
            actions[key] = matches[0].id
        return rule

    def _address(self, address: str) -> dict[str, Any]:
        try:
            name = self.directory.find(address)["displayName"]
        except GraphError:
            name = address.split("@")[0]
        return {"emailAddress": {"name": name, "address": address}}

    def _deliver(self, mail: SeedMail, now: dt.datetime) -> None:
        sent = resolve_time(mail.sent, now)
        received = sent + dt.timedelta(seconds=3)
        message_id = mail.internetMessageId or f"<{secrets.token_hex(8).upper()}@{self.domains[0]}>"
        data: dict[str, Any] = {
            "createdDateTime": _iso(received),
            "lastModifiedDateTime": _iso(received),
            "changeKey": secrets.token_urlsafe(12),
            "categories": [],
            "receivedDateTime": _iso(received),
            "sentDateTime": _iso(sent),
            "hasAttachments": mail.hasAttachments,
            "internetMessageId": message_id,
            "subject": mail.subject,
            "bodyPreview": mail.body[:255],
            "importance": mail.importance,
            "conversationId": "AAQkAG" + secrets.token_urlsafe(24) + "=",
            "isDeliveryReceiptRequested": False,
            "isReadReceiptRequested": False,
            "isRead": mail.isRead,
            "isDraft": False,
            "inferenceClassification": "focused",
            "body": {"contentType": "html", "content": f"<html><body>{mail.body}</body></html>"},
            "sender": self._address(mail.sender),
            "from": self._address(mail.sender),
            "toRecipients": [self._address(a) for a in mail.to],
            "ccRecipients": [self._address(a) for a in mail.cc],
            "bccRecipients": [],
            "replyTo": [],
            "flag": {"flagStatus": "notFlagged"},
        }
        if mail.sender.lower() in self._local_upns():
            sent_copy = copy.deepcopy(data) | {"isRead": True}
            box = self.mailbox(mail.sender)
            box.deliver(sent_copy, box.folder("sentitems").id)
        for recipient in (*mail.to, *mail.cc):
            if recipient.lower() not in self._local_upns():
                continue
            box = self.mailbox(recipient)
            folder = next(
                (f for f in box.folders.values() if mail.folder in (f.display_name, f.well_known)),
                None,
            )
            if folder is None:
                raise InvalidInput(f"mail: {recipient} has no folder {mail.folder!r}")
            box.deliver(copy.deepcopy(data), folder.id)

    def _local_upns(self) -> set[str]:
        return {u["userPrincipalName"].lower() for u in self.directory.users.values()}

    def snapshot(self) -> dict[str, Any]:
        """The test seam's view: users, inbox rules, messages and folders by UPN; NSGs by name."""
        self.network.settle()
        boxes = {box.upn: box for box in self.mailboxes.values()}
        return {
            "users": self.directory.by_upn(),
            "inbox_rules": {upn: copy.deepcopy(box.rules) for upn, box in boxes.items()},
            "messages": {upn: box.snapshot_messages() for upn, box in boxes.items()},
            "mail_folders": {upn: box.snapshot_folders() for upn, box in boxes.items()},
            "nsgs": {
                nsg.name: {
                    "resource_group": nsg.resource_group,
                    "location": nsg.location,
                    "protects": nsg.cidr,
                    "security_rules": copy.deepcopy(list(nsg.rules.values())),
                    "flushConnection": nsg.flush_connection,
                }
                for nsg in self.network.nsgs.values()
            },
            "nics": self.topology.snapshot(),
            **self.conditional_access.snapshot(),
            **self.identity.snapshot(),
        }
