"""Decisions through the API: the token's holder decides, and the audit names them.

The CLI posts to the API named by `--api`, or to the dev stack's (stack.json). The token comes
from `--token-file` or RIPOSTE_TOKEN and travels only in the Authorization header; no error
message repeats it.
"""

from __future__ import annotations

import argparse
from urllib.parse import quote

import httpx

from riposte.cli import common
from riposte.errors import Conflict, InvalidInput, NotFound, NotPermitted, Unavailable
from riposte.response import ActionView
from riposte.service import read_stack

TIMEOUT_SECONDS = 60.0


def api_url(args: argparse.Namespace) -> str:
    url: str | None = getattr(args, "api", None)
    url = url or read_stack(common.settings_from(args)).get("api")
    if not url:
        raise Unavailable("no API to decide through: pass --api URL, or start `riposte dev`")
    return url.rstrip("/")


def decide_through_api(args: argparse.Namespace, token: str) -> ActionView:
    """Approve, reject or release `args.id` through the API; map its answer to domain errors."""
    action = quote(args.id, safe=":@")
    if args.verb == "release":
        path, body = f"/v1/actions/{action}/release", {"comment": args.comment}
    elif args.verb == "approve":
        path, body = f"/v1/approvals/{action}/approve", {"comment": args.comment}
    else:
        path = f"/v1/approvals/{action}/reject"
        body = {"comment": args.comment, "reason": args.reason}
    base = api_url(args)
    try:
        answer = httpx.post(
            base + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as err:
        raise Unavailable(f"cannot reach the API at {base}: {type(err).__name__}") from err
    if answer.status_code == 200:
        return ActionView.model_validate_json(answer.content)
    raise _refusal(answer)


def _refusal(answer: httpx.Response) -> Exception:
    try:
        problem = answer.json()
    except ValueError:
        problem = {}
    message = str(problem.get("message", f"the API answered {answer.status_code}"))
    match answer.status_code:
        case 401:
            return NotPermitted(f"the API refused the token: {message}")
        case 403:
            return NotPermitted(message)
        case 404:
            return NotFound(message)
        case 409:
            return Conflict(message, state=str(problem.get("state", "unknown")))
        case 422:
            return InvalidInput(message, location=str(problem.get("location", "")))
    return Unavailable(message)
