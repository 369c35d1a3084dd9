"""`riposte policy backtest`: what a policy set would have done with past alerts. No side effects.

    riposte policy backtest [--policies DIR] [--against DIR] [--since 30d | --alerts FILE...]
                            [--format table|json]

Alerts come from the audit store (the `alert_received` events of the last `--since`, default
30d) or from files in any format the adapters read. A value in a file that is not an alert is
named on stderr as FILE:LINE: message, and the rest is read. Exit 0 with a report, 1 when a
policy folder has errors, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from riposte.adapters import AUTO, SUPPORTED_FORMATS
from riposte.backtest.run import PolicySetError
from riposte.backtest.service import BacktestRequest, backtest
from riposte.backtest.sources import BadInput, Meter, input_files
from riposte.backtest.table import render_report
from riposte.cli import common
from riposte.errors import InvalidInput, Unavailable
from riposte.policy.durations import parse_duration

BAR = 30


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "backtest",
        help="replay past alerts through policies: what they would have done (no side effects)",
        description=(
            "Replay alerts from the audit store or from files through a policy set and report,"
            " per policy, the alerts matched, actions by mode, targets, exclusions and the hours"
            " budgets would have tripped. With --against, the alerts whose outcome differs."
        ),
    )
    common.add_policies(parser)
    common.add_data_dir(parser)
    parser.add_argument("--against", type=Path, default=None, metavar="DIR", help="compare with")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--since", type=_duration, default=None, help="audit store window (30d)")
    source.add_argument("--alerts", type=Path, nargs="+", metavar="FILE", help="alert files")
    parser.add_argument(
        "--source-format", choices=(*SUPPORTED_FORMATS, AUTO), default=AUTO, dest="source_format"
    )
    common.add_format(parser)
    parser.set_defaults(func=backtest_command)


def backtest_command(args: argparse.Namespace) -> int:
    settings = common.settings_from(args)
    files = tuple(args.alerts or ())
    request = BacktestRequest(
        files=files, since=args.since, against=args.against, source_format=args.source_format
    )
    meter = Meter(total=sum(p.stat().st_size for p in input_files(files) if p.exists()))
    progress = _Progress(meter) if sys.stderr.isatty() else None
    try:
        report = backtest(request, settings, on_bad=_bad, progress=progress, meter=meter)
    except PolicySetError as err:
        for error in err.errors:
            print(error, file=sys.stderr)
        return common.fail(str(err), common.NEGATIVE if err.errors else common.USAGE)
    except InvalidInput as err:
        return common.fail(str(err), common.USAGE)
    except Unavailable as err:
        return common.fail(str(err))
    finally:
        if progress is not None:
            progress.done()
    if args.format == "json":
        common.print_json(report.model_dump(mode="json", exclude_none=True))
    else:
        sys.stdout.write(render_report(report))
    return common.OK


def _bad(bad: BadInput) -> None:
    print(bad, file=sys.stderr)


class _Progress:
    """A progress bar on stderr: a bar by bytes read for files, a count for the audit store."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, count: int) -> None:
        rate = count / max(time.monotonic() - self.started, 1e-6)
        if self.meter.total:
            share = min(self.meter.read / self.meter.total, 1.0)
            filled = int(share * BAR)
            bar = f"[{'#' * filled}{'.' * (BAR - filled)}] {share:4.0%} "
        else:
            bar = ""
        sys.stderr.write(f"\rbacktest {bar}{count:,} alerts, {rate:,.0f}/s ")
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _duration(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
