"""`riposte audit`: read the audit trail with filters; `verify` checks its keyed chain (against a
checkpoint, if given); `checkpoint` prints a signed head to keep outside the store."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riposte.audit.checkpoint import Checkpoint, read_checkpoint, sign
from riposte.audit.events import AuditFilter, AuditKind, VerifyResult
from riposte.audit.export import ExportFormat, events_of, stream
from riposte.audit.key import AuditKey, audit_key, key_path
from riposte.audit.store import AuditStore, open_configured, open_store
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

    actions = parser.add_subparsers(dest="audit_command", metavar="[verify|checkpoint]")
    verify = actions.add_parser(
        "verify",
        help="check that no event was edited, deleted or reordered",
        description=(
            "Walk the keyed hash chain; exit 0 if it verifies, 1 listing every break. With "
            "--checkpoint, also exit 1 if anything up to the checkpoint changed or the store is "
            "shorter than it."
        ),
    )
    verify.add_argument(
        "--checkpoint", type=Path, metavar="FILE", help="a checkpoint from `audit checkpoint`"
    )
    checkpoint = actions.add_parser(
        "checkpoint",
        help="print a signed chain head (seq, hash, count, time) to keep elsewhere",
        description=(
            "Verify the chain, then print its head as one JSON line, signed with the audit key. "
            "Keep it outside the store; `audit verify --checkpoint FILE` checks against it."
        ),
    )
    for sub_parser in (verify, checkpoint):
        # SUPPRESS: `riposte audit --data-dir D verify` keeps D instead of this parser's default.
        sub_parser.add_argument(
            "--data-dir", type=Path, default=argparse.SUPPRESS, help="state folder (.riposte/)"
        )
    verify.set_defaults(func=verify_chain)
    checkpoint.set_defaults(func=print_checkpoint)


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
        checkpoint = _checkpoint_file(args.checkpoint) if args.checkpoint else None
        result, _ = _verified(args, checkpoint)
    except InvalidInput as err:
        return common.fail(str(err), common.USAGE)
    except Unavailable as err:
        return common.fail(str(err))
    if result.ok:
        print(f"audit chain verifies: {result.events} events")
        if result.head:
            print(f"head: seq {result.seq} {result.head}")
        if checkpoint is not None:
            taken = f"{checkpoint.time:%Y-%m-%d %H:%M:%S}Z"
            print(f"matches the checkpoint at seq {checkpoint.seq} (taken {taken})")
    else:
        count = len(result.problems)
        print(f"audit chain does NOT verify: {count} problems in {result.events} events")
        for problem in result.problems:
            print(f"  {problem}")
    for note in result.notes:
        print(f"note: {note}")
    return common.OK if result.ok else common.NEGATIVE


def print_checkpoint(args: argparse.Namespace) -> int:
    try:
        result, key = _verified(args, None)
    except InvalidInput as err:
        return common.fail(str(err), common.USAGE)
    except Unavailable as err:
        return common.fail(str(err))
    if not result.ok:
        return common.fail(
            f"the audit chain does not verify ({result.problems[0]}); no checkpoint written: "
            "see riposte audit verify"
        )
    head = Checkpoint(
        seq=result.seq,
        hash=result.head,
        count=result.events,
        time=datetime.now(UTC),
        keyed_from=result.keyed_from,
    )
    print(sign(head, key).model_dump_json())
    return common.OK


def _verified(
    args: argparse.Namespace, checkpoint: Checkpoint | None
) -> tuple[VerifyResult, AuditKey]:
    """Verify the configured store under the configured key (never a new one)."""
    settings = common.settings_from(args)
    key = audit_key(settings, create=False)
    store = open_store(settings.audit_store_url, key)
    try:
        if key is None:
            raise Unavailable(
                f"no audit key: set RIPOSTE_AUDIT_KEY or put the key in {key_path(settings)}; "
                "the keyed chain cannot be checked without it"
            )
        return store.verify(checkpoint), key
    finally:
        store.close()


def _checkpoint_file(path: Path) -> Checkpoint:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"cannot read the checkpoint: {err}", location=str(path)) from None
    return read_checkpoint(text, str(path))


def _open(args: argparse.Namespace) -> AuditStore:
    return open_configured(common.settings_from(args), writer=False)


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
