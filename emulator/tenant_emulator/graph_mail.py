"""Microsoft Graph v1.0 mail: mailFolders, inbox messageRules, messages and move.

Message ids follow Exchange: without `Prefer: IdType="ImmutableId"` the id a message is shown
with changes when it moves; with it, ids never change (and `Preference-Applied` says so).
Lists page like Graph (10 by default, `@odata.nextLink`); messages come newest first.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenant_emulator.errors import GraphError
from tenant_emulator.graph import (
    IMMUTABLE_PREFERENCE,
    collection,
    graph_response,
    json_body,
    metadata,
    wants_immutable_ids,
)
from tenant_emulator.guard import guarded, state_of
from tenant_emulator.mailbox import Mailbox, Message
from tenant_emulator.routes import FOLDER, USER, RouteInfo

RULES = FOLDER + "/messageRules"


def _mailbox(request: Request) -> Mailbox:
    return state_of(request).tenant.mailbox(request.path_params["id"])


def _user_fragment(request: Request, tail: str) -> str:
    return f"users('{request.path_params['id']}')/{tail}"


def _id_headers(request: Request) -> dict[str, str]:
    return {"Preference-Applied": IMMUTABLE_PREFERENCE} if wants_immutable_ids(request) else {}


# Folders


async def list_folders(request: Request) -> Response:
    box = _mailbox(request)
    parent = box.folder(request.path_params.get("folder", box.root_id))
    items = [box.folder_json(f) for f in box.children(parent.id)]
    tail = "mailFolders" if "folder" not in request.path_params else "mailFolders('x')/childFolders"
    return graph_response(collection(request, items, _user_fragment(request, tail)))


async def create_folder(request: Request) -> Response:
    box = _mailbox(request)
    parent = box.folder(request.path_params.get("folder", box.root_id))
    body = await json_body(request)
    folder = box.add_folder(str(body.get("displayName") or ""), parent.id)
    folder.is_hidden = bool(body.get("isHidden", False))
    fragment = _user_fragment(request, "mailFolders/$entity")
    return graph_response(
        {"@odata.context": metadata(request, fragment), **box.folder_json(folder)}, 201
    )


async def get_folder(request: Request) -> Response:
    box = _mailbox(request)
    folder = box.folder(request.path_params["folder"])
    fragment = _user_fragment(request, "mailFolders/$entity")
    return graph_response(
        {"@odata.context": metadata(request, fragment), **box.folder_json(folder)}
    )


# Inbox rules


def _inbox(request: Request) -> Mailbox:
    box = _mailbox(request)
    if box.folder(request.path_params["folder"]).well_known != "inbox":
        raise GraphError(400, "ErrorInvalidRequest", "Inbox rules exist only on the Inbox folder.")
    return box


def _rule_context(request: Request) -> str:
    return metadata(request, _user_fragment(request, "mailFolders('inbox')/messageRules/$entity"))


async def list_rules(request: Request) -> Response:
    box = _inbox(request)
    fragment = _user_fragment(request, "mailFolders('inbox')/messageRules")
    return graph_response(collection(request, list(box.rules), fragment, default_top=None))


async def create_rule(request: Request) -> Response:
    rule = _inbox(request).add_rule(await json_body(request))
    return graph_response({"@odata.context": _rule_context(request), **rule}, 201)


async def get_rule(request: Request) -> Response:
    rule = _inbox(request).rule(request.path_params["rule"])
    return graph_response({"@odata.context": _rule_context(request), **rule})


async def patch_rule(request: Request) -> Response:
    box = _inbox(request)
    rule = box.update_rule(request.path_params["rule"], await json_body(request))
    return graph_response({"@odata.context": _rule_context(request), **rule})


async def delete_rule(request: Request) -> Response:
    _inbox(request).delete_rule(request.path_params["rule"])
    return graph_response(None, 204)


# Messages


def _in_folder(box: Mailbox, request: Request, message: Message) -> Message:
    folder = request.path_params.get("folder")
    if folder is not None and message.folder_id != box.folder(folder).id:
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    return message


async def list_messages(request: Request) -> Response:
    box = _mailbox(request)
    immutable = wants_immutable_ids(request)
    messages = box.messages
    if "folder" in request.path_params:
        folder_id = box.folder(request.path_params["folder"]).id
        messages = [m for m in messages if m.folder_id == folder_id]
    items: list[dict[str, Any]] = [box.message_json(m, immutable=immutable) for m in messages]
    body = collection(
        request, items, _user_fragment(request, "messages"), default_order="receivedDateTime desc"
    )
    return graph_response(body, headers=_id_headers(request))


async def get_message(request: Request) -> Response:
    box = _mailbox(request)
    message = _in_folder(box, request, box.message(request.path_params["message"]))
    shown = box.message_json(message, immutable=wants_immutable_ids(request))
    fragment = metadata(request, _user_fragment(request, "messages/$entity"))
    return graph_response({"@odata.context": fragment, **shown}, headers=_id_headers(request))


async def move_message(request: Request) -> Response:
    box = _mailbox(request)
    body = await json_body(request)
    # Action parameters are case-insensitive: msgraph-sdk sends "DestinationId".
    destination = next((v for k, v in body.items() if k.lower() == "destinationid"), None)
    if not isinstance(destination, str) or not destination:
        raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
    _in_folder(box, request, box.message(request.path_params["message"]))
    moved = box.move(request.path_params["message"], destination)
    shown = box.message_json(moved, immutable=wants_immutable_ids(request))
    fragment = metadata(request, _user_fragment(request, "messages/$entity"))
    return graph_response({"@odata.context": fragment, **shown}, 201, _id_headers(request))


_FOLDERS = USER + "/mailFolders"
_MESSAGE = USER + "/messages/{message}"
_FOLDER_MESSAGE = FOLDER + "/messages/{message}"

ROUTES: list[Route] = [
    guarded(RouteInfo("graph.mail.folders.list", "GET", _FOLDERS), list_folders),
    guarded(RouteInfo("graph.mail.folders.create", "POST", _FOLDERS), create_folder),
    guarded(RouteInfo("graph.mail.folders.get", "GET", FOLDER), get_folder),
    guarded(
        RouteInfo("graph.mail.child_folders.list", "GET", FOLDER + "/childFolders"), list_folders
    ),
    guarded(
        RouteInfo("graph.mail.child_folders.create", "POST", FOLDER + "/childFolders"),
        create_folder,
    ),
    guarded(RouteInfo("graph.mail.rules.list", "GET", RULES), list_rules),
    guarded(RouteInfo("graph.mail.rules.create", "POST", RULES), create_rule),
    guarded(RouteInfo("graph.mail.rules.get", "GET", RULES + "/{rule}"), get_rule),
    guarded(RouteInfo("graph.mail.rules.patch", "PATCH", RULES + "/{rule}"), patch_rule),
    guarded(RouteInfo("graph.mail.rules.delete", "DELETE", RULES + "/{rule}"), delete_rule),
    guarded(RouteInfo("graph.mail.messages.list", "GET", USER + "/messages"), list_messages),
    guarded(RouteInfo("graph.mail.messages.get", "GET", _MESSAGE), get_message),
    guarded(RouteInfo("graph.mail.messages.move", "POST", _MESSAGE + "/move"), move_message),
    guarded(
        RouteInfo("graph.mail.folder_messages.list", "GET", FOLDER + "/messages"), list_messages
    ),
    guarded(RouteInfo("graph.mail.folder_messages.get", "GET", _FOLDER_MESSAGE), get_message),
    guarded(
        RouteInfo("graph.mail.folder_messages.move", "POST", _FOLDER_MESSAGE + "/move"),
        move_message,
    ),
]
