"""`riposte audit`: read the audit trail with filters; `riposte audit verify`: check its chain."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riposte.audit.events import AuditFilter, AuditKind
from riposte.audit.export import ExportFormat, events_of, stream
from riposte.audit.store import AuditStore, open_store
from riposte.cli import common
from riposte.errors import InvalidInput, Unavailable


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "audit",
        help="query, export and verify the audit trail",
        description="List audit events, oldest first. Every filter narrows the result.",
    )
    parser.add_argument("--since", type=_moment, help="events at or after this ISO time (UTC)")
    parser.add_argument("--until", type=_moment, help="events before this ISO time (UTC)")
    parser.add_argument("--response", dest="response_id", help="one response (workflow id)")
    parser.add_argument("--target", help="a user, IP or other target")
    parser.add_argument("--action", help="an action name, e.g. disable_sign_in")
    parser.add_argument("--actor", help="'engine' or a person")
    parser.add_argument("--policy", help="a policy name")
    parser.add_argument("--kind", choices=[kind.value for kind in AuditKind])
    parser.add_argument("--after-seq", type=_count, default=0, help="only events after this seq")
    parser.add_argument("--limit", type=_count, help="at most this many events")
    common.add_format(parser, *(fmt.value for fmt in ExportFormat))
    common.add_data_dir(parser)
    parser.set_defaults(func=list_events)

    actions = parser.add_subparsers(dest="audit_command", metavar="[verify]")
    verify = actions.add_parser(
        "verify",
        help="check that no event was edited, deleted or reordered",
        description="Walk the hash chain; exit 0 if it verifies, 1 listing every break.",
    )
    # SUPPRESS: `riposte audit --data-dir D verify` keeps D instead of this parser's default.
    verify.add_argument(
        "--data-dir", type=Path, default=argparse.SUPPRESS, help="state folder (.riposte/)"
    )
    verify.set_defaults(func=verify_chain)


def list_events(args: argparse.Namespace) -> int:
    try:
        audit_filter = AuditFilter(
            since=args.since,
            until=args.until,
            response_id=args.response_id,
            target=args.target,
            action=args.action,
            actor=args.actor,
            policy=args.policy,
            kind=args.kind,
            after_seq=args.after_seq,
            limit=args.limit,
        )
        store = _open(args)
    except (InvalidInput, Unavailable) as err:
        return common.fail(str(err), common.USAGE if isinstance(err, InvalidInput) else 1)
    try:
        for piece in stream(events_of(store, audit_filter), ExportFormat(args.format)):
            sys.stdout.write(piece)
    except Unavailable as err:
        return common.fail(str(err))
    finally:
        store.close()
    return common.OK


def verify_chain(args: argparse.Namespace) -> int:
    try:
        store = _open(args)
    except InvalidInput as err:
        return common.fail(str(err), common.USAGE)
    except Unavailable as err:
        return common.fail(str(err))
    try:
        result = store.verify()
    except Unavailable as err:
        return common.fail(str(err))
    finally:
        store.close()
    if result.ok:
        print(f"audit chain verifies: {result.events} events")
        if result.head:
            print(f"head: {result.head}")
        return common.OK
    print(f"audit chain does NOT verify: {len(result.problems)} problems in {result.events} events")
    for problem in result.problems:
        print(f"  {problem}")
    return common.NEGATIVE


def _open(args: argparse.Namespace) -> AuditStore:
    return open_store(common.settings_from(args).audit_store_url)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from err
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return value
