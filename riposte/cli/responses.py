"""Operator commands: send an alert, list and show responses, decide, release."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from riposte.adapters import SUPPORTED_FORMATS
from riposte.adapters.caps import parse_bounded
from riposte.alerts import Alert, AlertCaps
from riposte.cli import common
from riposte.cli.decide_api import decide_through_api
from riposte.errors import Conflict, InvalidInput, NotFound, NotPermitted, Unavailable
from riposte.response import ActionView, Decision, Release, ResponseStatus, ResponseView
from riposte.service import ResponseService, connect

T = TypeVar("T")


def register(sub: Any) -> None:
    alert = sub.add_parser("alert", help="send alerts").add_subparsers(dest="alert", required=True)
    send = alert.add_parser("send", help="start the response to an alert (FILE or - for stdin)")
    send.add_argument("file", help="alert JSON file, or - for stdin")
    send.add_argument("--source-format", choices=("auto", *SUPPORTED_FORMATS), default="auto")
    common.add_data_dir(send)
    common.add_format(send)
    send.set_defaults(func=_send)

    listing = sub.add_parser("responses", help="list responses")
    listing.add_argument("--status", choices=[s.value for s in ResponseStatus])
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--target", help="only responses acting on this user or IP")
    common.add_data_dir(listing)
    common.add_format(listing)
    listing.set_defaults(func=_list)

    show = sub.add_parser("show", help="a response with its actions")
    show.add_argument("id", help="response id")
    common.add_data_dir(show)
    common.add_format(show)
    show.set_defaults(func=_show)

    for name, helptext in (
        ("approve", "approve a pending action"),
        ("reject", "reject a pending action"),
        ("release", "revert an executed action now"),
    ):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("id", help="action id")
        common.add_decider(cmd)
        if name == "reject":
            cmd.add_argument("--reason", required=True, help="why (recorded in the audit)")
        common.add_data_dir(cmd)
        common.add_format(cmd)
        cmd.set_defaults(func=_decide, verb=name)


def read_alert(source: str, fmt: str, caps: AlertCaps) -> Alert:
    """Read and adapt one alert; raise InvalidInput saying where it broke."""
    where = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as err:
        raise InvalidInput(err.strerror or "cannot read", location=where) from err
    try:
        body = json.loads(text)
    except RecursionError:
        raise InvalidInput("malformed JSON: nested too deeply", location=where) from None
    except json.JSONDecodeError as err:
        raise InvalidInput(
            f"malformed JSON: {err.msg}", location=f"{where}:{err.lineno}:{err.colno}"
        ) from err
    try:
        return parse_bounded(body, fmt, caps)
    except InvalidInput as err:
        raise InvalidInput(str(err), location=where) from err


def _with_service(args: argparse.Namespace, work: Callable[[ResponseService], Awaitable[T]]) -> T:
    settings = common.settings_from(args)

    async def go() -> T:
        client = await connect(settings)
        return await work(ResponseService(client, settings.task_queue, settings.incidents))

    return asyncio.run(go())


def _guarded(run: Callable[[], int]) -> int:
    """Map domain errors to messages and exit codes, in one place."""
    try:
        return run()
    except InvalidInput as err:
        return common.fail(str(err), common.USAGE)
    except (NotFound, Unavailable) as err:
        return common.fail(str(err))
    except Conflict as err:
        return common.fail(f"{err} (state: {err.state})")
    except NotPermitted as err:
        return common.fail(str(err))


def _send(args: argparse.Namespace) -> int:
    def run() -> int:
        alert = read_alert(args.file, args.source_format, common.settings_from(args).alert_caps)
        submission = _with_service(args, lambda s: s.submit(alert, sender=common.cli_identity()))
        if args.format == "json":
            common.print_json(submission)
        else:
            seen = "duplicate of" if submission.duplicate else "started"
            print(f"{seen} response {submission.response_id}")
        return common.OK

    return _guarded(run)


def _list(args: argparse.Namespace) -> int:
    def run() -> int:
        status = ResponseStatus(args.status) if args.status else None
        found = _with_service(args, lambda s: s.list(status, args.limit, target=args.target))
        if args.format == "json":
            common.print_json(found)
            return common.OK
        for r in found:
            started = f"{r.started:%Y-%m-%d %H:%M:%S}"
            where = f"  [{', '.join(r.targets) or '-'}; incident {r.incident_id or '-'}]"
            print(f"{started}  {r.status.value:<17} {r.response_id}  {r.alert_name}{where}")
        return common.OK

    return _guarded(run)


def _show(args: argparse.Namespace) -> int:
    def run() -> int:
        response = _with_service(args, lambda s: s.view(args.id))
        if args.format == "json":
            common.print_json(response)
        else:
            print(render_response(response))
        return common.OK

    return _guarded(run)


def _decide(args: argparse.Namespace) -> int:
    def run() -> int:
        token = common.api_token(args)
        if token is not None:
            view = decide_through_api(args, token)
        else:
            view = _decide_unauthenticated(args)
        if args.format == "json":
            common.print_json(view)
        else:
            print(render_action(view))
        return common.OK

    return _guarded(run)


def _decide_unauthenticated(args: argparse.Namespace) -> ActionView:
    """Straight to Temporal, as the CLI's own identity, flagged unauthenticated."""
    by = common.cli_identity()
    print(f"riposte: no API token; recording this as {by}, unauthenticated", file=sys.stderr)
    if args.verb == "release":
        release = Release(action_id=args.id, by=by, comment=args.comment, authenticated=False)
        return _with_service(args, lambda s: s.release(release))
    decision = Decision(
        action_id=args.id,
        approve=args.verb == "approve",
        by=by,
        comment=args.comment,
        reason=getattr(args, "reason", ""),
        authenticated=False,
    )
    return _with_service(args, lambda s: s.decide(decision))


def render_action(a: ActionView) -> str:
    line = (
        f"{a.action_id:<34} {a.action.value:<19} {a.target:<24} {a.mode.value:<13} {a.state.value}"
    )
    details = [f"    {a.change}"] if a.change else []
    if a.over_budget:
        details.append(f"    {a.over_budget}")
    if a.approvers > 1:
        who = f" ({', '.join(a.approved_by)})" if a.approved_by else ""
        details.append(f"    {a.approvals}{who}")
    if a.decided_by:
        flag = " (unauthenticated)" if a.decided_unauthenticated else ""
        details.append(f"    by {a.decided_by}{flag}" + (f": {a.comment}" if a.comment else ""))
    if a.revert_at:
        details.append(f"    reverts at {a.revert_at:%Y-%m-%d %H:%M:%S} UTC")
    if a.error:
        details.append(f"    error: {a.error}")
    return "\n".join([line, *details])


def render_response(r: ResponseView) -> str:
    lines = [
        f"response {r.response_id}  [{r.status.value}]",
        f"alert    {r.alert.name} ({r.alert.severity.value}, score {r.alert.score})",
    ]
    for p in r.matched:
        lines.append(f"policy   {p.name} ({p.mode.value}, sha256 {p.hash[:12]})")
    if r.no_match_reason:
        lines.append(f"no match {r.no_match_reason}")
    lines.extend(render_action(a) for a in r.actions)
    return "\n".join(lines)
