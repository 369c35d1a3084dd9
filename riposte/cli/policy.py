"""`riposte policy check [PATH...]`, `policy test ALERT` and `policy backtest`: no side effects."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from riposte.adapters import AUTO, SUPPORTED_FORMATS
from riposte.alerts import Alert
from riposte.cli import backtest, common
from riposte.cli.policy_incidents import (
    plans_and_growth,
    print_growth,
    print_growth_json,
    read_alerts,
    step_line,
)
from riposte.errors import InvalidInput
from riposte.policy.check import check_policies
from riposte.policy.durations import format_duration
from riposte.policy.engine import ResponsePlan
from riposte.policy.loader import load_policies, snapshot_of


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "policy", help="check response policies, or see what they would do with an alert"
    )
    commands = parser.add_subparsers(dest="policy_command", required=True, metavar="SUBCOMMAND")

    check = commands.add_parser(
        "check",
        help="report every error in policy files as FILE:LINE: message",
        description="Load policy files and run their examples. Exit 0 if all is well, 1 if not.",
    )
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders")
    common.add_policies(check)
    check.set_defaults(func=check_command)

    test = commands.add_parser(
        "test",
        help="which policies match an alert and what they would do (no side effects)",
        description="Evaluate the policies against one alert and print the plan. Nothing runs.",
    )
    test.add_argument(
        "alert",
        metavar="ALERT",
        help="an alert JSON file, or - for stdin; several alerts (a JSON array or NDJSON) show"
        " how their incidents grow",
    )
    test.add_argument(
        "--source-format", choices=(*SUPPORTED_FORMATS, AUTO), default=AUTO, dest="source_format"
    )
    common.add_policies(test)
    common.add_format(test)
    test.set_defaults(func=test_command)
    backtest.register(commands)


def check_command(args: argparse.Namespace) -> int:
    paths: list[Path] = args.paths or [common.settings_from(args).policies_dir]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        return common.fail(f"no such file or folder: {', '.join(missing)}", common.USAGE)
    result = check_policies(paths)
    for error in result.errors:
        print(error)
    if result.errors:
        print(f"{len(result.errors)} error(s)", file=sys.stderr)
        return common.NEGATIVE
    names = ", ".join(p.policy.name for p in result.policies) or "none"
    examples = sum(len(p.examples.match) + len(p.examples.no_match) for p in result.policies)
    count = len(result.policies)
    noun = "policy" if count == 1 else "policies"
    print(f"OK: {count} {noun} ({names}); {examples} examples hold")
    return common.OK


def test_command(args: argparse.Namespace) -> int:
    settings = common.settings_from(args)
    try:
        alerts = read_alerts(_read_text(args.alert), args.source_format, settings)
    except InvalidInput as err:
        return common.fail(f"{args.alert}: {err}", common.USAGE)
    if not settings.policies_dir.is_dir():
        return common.fail(f"no policies folder: {settings.policies_dir}", common.USAGE)
    loaded = load_policies([settings.policies_dir])
    if loaded.errors:
        for error in loaded.errors:
            print(error, file=sys.stderr)
        return common.NEGATIVE
    plans, growth = plans_and_growth(alerts, snapshot_of(loaded.policies, settings), settings)
    if len(alerts) > 1:
        (print_growth_json if args.format == "json" else print_growth)(alerts, plans, growth)
        return common.OK
    alert, plan, step = alerts[0], plans[0], growth.steps[0]
    if args.format == "json":
        common.print_json(
            {
                "response_id": alert.key,
                "alert": _dump(alert),
                **_dump(plan),
                "incident": step.model_dump(mode="json"),
            }
        )
    else:
        _print_table(alert, plan)
        print(step_line(step))
    return common.OK


def _read_text(source: str) -> str:
    try:
        return sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"cannot read: {err}") from None


def _dump(model: Alert | ResponsePlan) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _print_table(alert: Alert, plan: ResponsePlan) -> None:
    present = ", ".join(
        f"{name}={value if isinstance(value, str) else list(value)}"
        for name, value in alert.entities
        if value not in (None, ())
    )
    print(f"alert     {alert.key}: {alert.name} ({alert.severity.value}, score {alert.score:g})")
    print(f"entities  {present or 'none'}")
    if not plan.matched:
        print(f"no policy matched: {plan.no_match_reason}")
        return
    for policy in plan.matched:
        print(f"matched   {policy.name} ({policy.mode.value}, version {policy.hash[:12]})")
    rows = [("ACTION ID", "ACTION", "TARGET", "MODE", "POLICY", "REVERTS", "NOTE")]
    for action in plan.actions:
        reverts = format_duration(action.duration_seconds) if action.duration_seconds else "-"
        note = f"EXCLUDED: {action.excluded_reason}" if action.excluded_reason else ""
        mode = action.mode.value
        rows.append(
            (
                action.action_id,
                action.action.value,
                action.target,
                mode,
                action.policy,
                reverts,
                note,
            )
        )
    _print_rows(rows)
    print("(a dry run: nothing was changed)")


def _print_rows(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
