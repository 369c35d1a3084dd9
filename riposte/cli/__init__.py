"""`riposte`: the command line. Each module under here registers one group of subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from riposte.cli import common
from riposte.cli.terminal import escaped_output

GROUPS = (
    "riposte.cli.stack",
    "riposte.cli.responses",
    "riposte.cli.incidents",
    "riposte.cli.policy",
    "riposte.cli.audit",
    "riposte.cli.act",
    "riposte.cli.emulator",
    "riposte.cli.api",
    "riposte.cli.doctor",
    "riposte.cli.reconcile",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="riposte",
        description="Riposte: automated response to alerts in Microsoft 365 and Azure.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in GROUPS:
        importlib.import_module(name).register(sub)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code (tests call this in-process)."""
    args = build_parser().parse_args(argv)
    with escaped_output(args.command, getattr(args, "format", "")):
        code: int = args.func(args)
    return code


def main() -> None:
    """The console script: run, then leave at once with the command's code."""
    try:
        code = run()
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code if isinstance(exc.code, int) else common.USAGE
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # `riposte audit | head`: the reader has gone, which is no error
        code = 0
    common.exit_now(code)


if __name__ == "__main__":
    main()
