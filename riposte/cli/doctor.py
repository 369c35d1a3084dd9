"""`riposte doctor`: check a configuration before go-live. Reads, never writes."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from pydantic import ValidationError

from riposte.cli import common
from riposte.doctor import DEFAULT_TIMEOUT, Report, Status, diagnose

_LABEL = {Status.OK: "OK", Status.FAIL: "FAIL", Status.SKIP: "SKIP"}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "doctor",
        help="check a configuration before go-live (reads, never writes)",
        description="Obtain Graph and ARM tokens, read one user, that mailbox's inbox rules and "
        "folders, and each configured NSG; check Temporal, the audit store and the policies. "
        "Exit 0 when every check passes, 1 when one fails.",
    )
    common.add_data_dir(parser)
    common.add_policies(parser)
    parser.add_argument(
        "--user",
        default=None,
        metavar="UPN",
        help="the user whose account and mailbox are read (default: the first user listed)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds each call may take ({DEFAULT_TIMEOUT:g})",
    )
    common.add_format(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = common.settings_from(args)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in err.errors()
        )
        return common.fail(f"the settings are invalid: {problems}")
    # azure-identity logs each refused token request; the report says it once, in plain words.
    logging.getLogger("azure").setLevel(logging.CRITICAL)
    report = asyncio.run(diagnose(settings, user=args.user, call_timeout=args.timeout))
    if args.format == "json":
        common.print_json(report)
    else:
        print_report(report)
    return common.OK if report.passed else common.NEGATIVE


def print_report(report: Report) -> None:
    width = max(len(check.name) for check in report.checks)
    for check in report.checks:
        print(f"{_LABEL[check.status]:<5} {check.name:<{width}}  {check.detail}")
    failed = len(report.failed)
    if failed:
        print(f"{failed} of {len(report.checks)} checks failed.")
    else:
        print("Every check passed.")
