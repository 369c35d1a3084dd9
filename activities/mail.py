"""quarantine_mail and its revert release_mail: where the copies are, and moving them.

Where `quarantine_mail` looks, given the target user (usually the hijacked sender):

1. **The target's mailbox.** Messages with the alert's internetMessageIds, anywhere in it, and,
   with `sent_within_seconds`, everything in its Sent Items sent within that window.
2. **The in-tenant recipients of what it found.** Each message's To, Cc and Bcc addresses in the
   tenant's domains; each such mailbox is searched for the internetMessageIds that were sent to
   it. A recipient without a mailbox (a group, a contact) is skipped.

Every copy found is quarantined except the target's own sent copies, which stay in Sent Items as
evidence. A message id that is not in the target's mailbox is therefore only found if the
target received it. The quarantine is a top-level folder named `TenantSettings.quarantine_folder`
in each affected mailbox, created when missing. Each move is recorded as (mailbox, immutable id,
source folder id), and recorded in the heartbeat before any move, so `release_mail` can put every
message back even after a retry.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from msgraph.graph_service_client import GraphServiceClient
from temporalio.exceptions import ApplicationError

from activities import progress
from activities.errors import translated
from activities.mailbox import Mailbox, MessageRef
from activities.outcome import outcome
from riposte.actions import validation
from riposte.actions.catalogue import QUARANTINE_MAIL, RELEASE_MAIL
from riposte.actions.payloads import (
    ActionInput,
    ActionName,
    ActionResult,
    MovedMessage,
    RevertInput,
    RevertState,
)
from riposte.actions.rule_selection import internal
from riposte.failures import FailureType
from riposte.settings import TenantSettings


class MailActivities:
    """quarantine_mail and release_mail, on one msgraph client."""

    def __init__(self, graph: GraphServiceClient, tenant: TenantSettings) -> None:
        self.graph = graph
        self.tenant = tenant

    @QUARANTINE_MAIL.act.defn
    async def quarantine_mail(self, request: ActionInput) -> ActionResult:
        """Move the matching copies into each mailbox's quarantine folder (or describe it)."""
        validation.action(ActionName.QUARANTINE_MAIL, request.action)
        graph, tenant = self.graph, self.tenant
        upn = validation.user(request.target)
        wanted = validation.message_selection(request.params)
        earlier = {
            (m.user.lower(), m.message_id): m for m in (progress.recall() or RevertState()).moved
        }
        copies = await _locate(graph, tenant, upn, wanted, request.params.sent_within_seconds)
        folder = tenant.quarantine_folder
        folders: dict[str, str | None] = {}
        for user in dict.fromkeys(copy.user for copy in copies):
            with translated(f"looking for the quarantine folder of {user}"):
                folders[user] = await Mailbox(graph, user).top_folder(folder)
        kept: list[MovedMessage] = []  # quarantined by an earlier attempt of this action
        todo: list[MessageRef] = []
        for copy in copies:
            record = earlier.get((copy.user.lower(), copy.id))
            if folders[copy.user] is not None and copy.folder_id == folders[copy.user]:
                if record is not None:
                    kept.append(record)
                continue
            todo.append(copy)
        creates = [user for user in dict.fromkeys(c.user for c in todo) if folders[user] is None]
        calls = [f"POST /users/{user}/mailFolders displayName='{folder}'" for user in creates]
        calls += [f"POST /users/{copy.user}/messages/{copy.id}/move" for copy in todo]
        where = _per_mailbox(todo)
        if not copies:
            summary = f"found no matching message for {upn}; " + (
                "would change nothing" if request.simulate else "nothing changed"
            )
            return outcome(request, changed=False, summary=summary)
        if request.simulate:
            summary = f"would move {len(todo)} of {len(copies)} messages to '{folder}'"
            summary += f": {where}" if todo else " (the rest are already there)"
            return outcome(request, changed=False, summary=summary, calls=calls)
        if not todo:
            summary = f"all {len(copies)} matching messages are already in '{folder}'"
            revert = RevertState(moved=tuple(kept))
            return outcome(request, changed=bool(kept), summary=summary, revert=revert)
        for user in creates:
            with translated(f"creating the quarantine folder of {user}"):
                folders[user] = await Mailbox(graph, user).create_folder(folder)
        planned = [
            MovedMessage(user=copy.user, message_id=copy.id, from_folder_id=copy.folder_id)
            for copy in todo
        ]
        revert = RevertState(moved=(*kept, *planned))
        progress.remember(revert)
        for copy in todo:
            with translated(f"moving message {copy.internet_message_id} of {copy.user}"):
                await Mailbox(graph, copy.user).move(copy.id, str(folders[copy.user]))
        summary = f"moved {len(todo)} messages to '{folder}': {where}"
        return outcome(request, changed=True, summary=summary, calls=calls, revert=revert)

    @RELEASE_MAIL.defn
    async def release_mail(self, request: RevertInput) -> ActionResult:
        """Move each quarantined message back to the folder it came from."""
        validation.action(ActionName.QUARANTINE_MAIL, request.action)
        graph = self.graph
        validation.user(request.target)
        back, already, gone = 0, 0, 0
        calls: list[str] = []
        for moved in request.revert.moved:
            user = validation.user(moved.user)
            box = Mailbox(graph, user)
            with translated(f"reading quarantined message of {user}"):
                current = await box.message(moved.message_id)
            if current is None:
                gone += 1
                continue
            if current.folder_id == moved.from_folder_id:
                already += 1
                continue
            with translated(f"releasing message {current.internet_message_id} of {user}"):
                await box.move(moved.message_id, moved.from_folder_id)
            back += 1
            calls.append(f"POST /users/{user}/messages/{moved.message_id}/move")
        summary = f"moved {back} messages back to their folders"
        if already:
            summary += f"; {already} already there"
        if gone:
            summary += f"; {gone} no longer exist"
        return outcome(request, changed=back > 0, summary=summary, calls=calls)


async def _locate(
    graph: GraphServiceClient,
    tenant: TenantSettings,
    upn: str,
    message_ids: tuple[str, ...],
    sent_within_seconds: int | None,
) -> list[MessageRef]:
    """Every copy to quarantine: the target's received copies and its recipients' copies."""
    target = Mailbox(graph, upn)
    found: list[MessageRef] = []
    with translated(f"searching the mailbox of {upn}"):
        for message_id in message_ids:
            found += await target.find(message_id)
        if sent_within_seconds is not None:
            since = datetime.now(UTC) - timedelta(seconds=sent_within_seconds)
            found += await target.sent_since(since)
        sent_items = await target.folder_id("sentitems")
    domains = tuple(domain.lower() for domain in tenant.domains)
    sent_to: dict[str, set[str]] = defaultdict(set)
    for message in found:
        for address in message.recipients:
            if internal(address, domains) and address.lower() != upn.lower():
                sent_to[address.lower()].add(message.internet_message_id)
    copies = {(m.user, m.id): m for m in found if m.folder_id != sent_items}
    for recipient in sorted(sent_to):
        box = Mailbox(graph, recipient)
        for message_id in sorted(sent_to[recipient]):
            try:
                with translated(f"searching the mailbox of {recipient}"):
                    matches = await box.find(message_id)
            except ApplicationError as err:
                if err.type == FailureType.NOT_FOUND:
                    break  # no mailbox behind this address
                raise
            copies.update(((m.user, m.id), m) for m in matches)
    return list(copies.values())


def _per_mailbox(copies: list[MessageRef]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for copy in copies:
        counts[copy.user] += 1
    return ", ".join(f"{n} in {user}" for user, n in counts.items())
