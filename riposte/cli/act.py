"""`riposte act ACTION --target T`: run one tenant action, or its revert, against the tenant.

For admins and for debugging. The tenant comes from the settings (RIPOSTE_TENANT as JSON, or
RIPOSTE_TENANT__GRAPH_URL and friends). `--simulate` describes the change and makes none. The
result's `revert` (printed with `--format json`) is what `--revert-from` takes to undo it.

The action's parameters are those a policy gives it (its catalogue entry's), as `--param
KEY=VALUE` with VALUE in YAML: `--param ports=[445,9401]`, `--param which=all`, `--param
registered_within=24h`. What a policy takes from the alert comes from `--rule-name`,
`--message-id` and `--alert-time` (the window actions count back from it; default now).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import yaml
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from activities.tenant import TenantActivities, build_activities
from riposte.actions.catalogue import CATALOGUE
from riposte.actions.payloads import (
    ActionInput,
    ActionName,
    ActionParams,
    ActionResult,
    RevertInput,
    RevertState,
)
from riposte.alerts import Alert, Entities, Severity
from riposte.audit.events import AuditKind, AuditRecord
from riposte.audit.store import open_configured
from riposte.cli import common
from riposte.failures import FailureType
from riposte.holders.ledger import Ledger
from riposte.logging import configure_logging
from riposte.policy.engine import PolicySnapshot, protection
from riposte.settings import Settings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "act",
        help="run one tenant action (or its revert) now",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=[a.value for a in CATALOGUE], metavar="ACTION")
    parser.add_argument("--target", required=True, help="a UPN, or an IP for network actions")
    parser.add_argument("--simulate", action="store_true", help="describe the change only")
    parser.add_argument(
        "--revert-from",
        metavar="JSON",
        help="undo instead: a result or its revert state, as JSON text, @FILE or - (stdin)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        dest="params",
        metavar="KEY=VALUE",
        help="one of the action's policy parameters, VALUE in YAML (e.g. ports=[445,9401])",
    )
    parser.add_argument("--rule-name", action="append", default=[], dest="rule_names")
    parser.add_argument("--message-id", action="append", default=[], dest="message_ids")
    parser.add_argument(
        "--alert-time", type=datetime.fromisoformat, default=None, help="ISO time (default now)"
    )
    parser.add_argument("--response-id", default="cli", help="names NSG rules (cli)")
    parser.add_argument("--action-id", default=None, help="names NSG rules (cli:ACTION:TARGET)")
    common.add_data_dir(parser)
    common.add_format(parser)
    parser.set_defaults(func=act_command)


def act_command(args: argparse.Namespace) -> int:
    action = ActionName(args.action)
    try:
        request = _request(args, action)
    except (ValueError, ValidationError) as err:
        return common.fail(str(err), common.USAGE)
    settings = common.settings_from(args)
    guard = PolicySnapshot(
        protected_users=settings.protected_users, protected_ranges=settings.protected_ranges
    )
    refused = protection(action, args.target, guard)
    if refused:
        return common.fail(f"refused: {refused}", common.USAGE)
    configure_logging(settings.log_format, level=logging.WARNING)  # the summary is the output
    try:
        ledger = Ledger(settings.audit_store_url)
        result = asyncio.run(_run(build_activities(settings.tenant, ledger, settings), request))
    except ApplicationError as err:
        code = common.USAGE if err.type == FailureType.BAD_REQUEST else common.NEGATIVE
        delay = (
            f" (retry in {err.next_retry_delay.total_seconds():g}s)" if err.next_retry_delay else ""
        )
        return common.fail(f"{err.type}: {err.message}{delay}", code)
    if not getattr(request, "simulate", False):
        _audit(settings, request, result)
    if args.format == "json":
        common.print_json(result)
    else:
        _print_table(result)
    return common.OK


def _audit(settings: Settings, request: ActionInput | RevertInput, result: ActionResult) -> None:
    """An admin's direct change is on the audit trail like the engine's, with who made it."""
    kind = AuditKind.REVERTED if isinstance(request, RevertInput) else AuditKind.EXECUTED
    store = open_configured(settings)
    try:
        store.append(
            [
                AuditRecord(
                    id=f"act/{uuid.uuid4()}",
                    time=datetime.now(UTC),
                    kind=kind,
                    response_id=request.response_id,
                    action_id=request.action_id,
                    action=request.action.value,
                    target=request.target,
                    mode="manual",
                    actor=getpass.getuser(),
                    detail=result.summary,
                )
            ]
        )
    finally:
        store.close()


def _request(args: argparse.Namespace, action: ActionName) -> ActionInput | RevertInput:
    action_id = args.action_id or f"cli:{action.value}:{args.target}"
    if args.revert_from is not None:
        if not CATALOGUE[action].reversible:
            raise ValueError(f"{action.value} has no revert")
        return RevertInput(
            response_id=args.response_id,
            action_id=action_id,
            action=action,
            target=args.target,
            revert=_revert_state(args.revert_from),
        )
    return ActionInput(
        response_id=args.response_id,
        action_id=action_id,
        action=action,
        target=args.target,
        params=_params(args, action),
        simulate=args.simulate,
    )


def _params(args: argparse.Namespace, action: ActionName) -> ActionParams:
    """The entry's parameters model from `--param`s, bound to an alert made of the flags."""
    entry = CATALOGUE[action]
    given: dict[str, Any] = {}
    for item in args.params:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param takes KEY=VALUE, not {item!r}")
        given[key.strip()] = yaml.safe_load(value)
    unknown = sorted(set(given) - set(entry.params.model_fields))
    if unknown:
        takes = ", ".join(entry.params.model_fields) or "none"
        raise ValueError(f"{action.value} takes no parameter {unknown[0]!r}; it takes: {takes}")
    when = args.alert_time or datetime.now(UTC)
    alert = Alert(
        id="act",
        source="cli",
        name=f"riposte act {action.value}",
        severity=Severity.HIGH,
        score=1.0,
        time=when if when.tzinfo else when.replace(tzinfo=UTC),
        entities=Entities(
            **{entry.target.value: args.target},
            inbox_rules=tuple(args.rule_names),
            messages=tuple(args.message_ids),
        ),
    )
    return entry.params.model_validate(given).bind(alert)


def _revert_state(source: str) -> RevertState:
    """A RevertState from JSON text, @FILE or - (stdin); an ActionResult's `revert` is taken."""
    if source == "-":
        text = sys.stdin.read()
    elif source.startswith("@"):
        with open(source[1:], encoding="utf-8") as handle:
            text = handle.read()
    else:
        text = source
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"--revert-from is not JSON: {err}") from err
    if isinstance(data, dict) and isinstance(data.get("revert"), dict):
        data = data["revert"]
    return RevertState.model_validate(data)


async def _run(activities: TenantActivities, request: ActionInput | RevertInput) -> ActionResult:
    try:
        if isinstance(request, RevertInput):
            return await activities.revert(request.action)(request)
        return await activities.act(request.action)(request)
    finally:
        await activities.close()


def _print_table(result: ActionResult) -> None:
    print(result.summary)
    print(f"changed: {'yes' if result.changed else 'no'}")
    for call in result.api_calls:
        print(f"  {call}")
    if result.revert != RevertState():
        print(f"revert state: {result.revert.model_dump_json(exclude_defaults=True)}")
