"""What every subcommand shares: the common options, settings from them, and a clean exit."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from riposte.settings import Settings

OK, NEGATIVE, USAGE = 0, 1, 2  # exit codes (DESIGN.md)


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None, help="state folder (.riposte/)")


def add_policies(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policies", type=Path, default=None, help="policy folder (policies/)")


def add_format(parser: argparse.ArgumentParser, *choices: str) -> None:
    choices = choices or ("table", "json")
    parser.add_argument("--format", choices=choices, default=choices[0])


TOKEN_ENV = "RIPOSTE_TOKEN"  # noqa: S105 (the variable's name, not a token)


def add_decider(parser: argparse.ArgumentParser) -> None:
    """How a decision is made: through the API with a token (its holder decides), or straight
    to Temporal as the CLI's own identity, `cli:<os user>`, flagged unauthenticated."""
    parser.add_argument("--comment", default="")
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help=f"decide through the API as this token's holder (or set {TOKEN_ENV}); "
        "without one the decision is recorded as cli:<os user>, unauthenticated",
    )
    parser.add_argument("--api", default=None, help="the API's URL (default: the dev stack's)")


def cli_identity() -> str:
    """The CLI's own identity: what it can say of who runs it, vouched for by nothing."""
    return f"cli:{getpass.getuser()}"


def api_token(args: argparse.Namespace) -> str | None:
    """The token to decide with, from --token-file or RIPOSTE_TOKEN (never the command line,
    where other users could read it)."""
    path: Path | None = getattr(args, "token_file", None)
    if path is not None:
        return path.read_text().strip() or None
    return os.environ.get(TOKEN_ENV, "").strip() or None


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with the command line's --data-dir and --policies on top."""
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    if getattr(args, "policies", None) is not None:
        overrides["policies_dir"] = args.policies
    return Settings(**overrides)


def print_json(value: Any) -> None:
    """Print JSON alone on stdout: a model, a list of models, or plain data."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list | tuple):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def fail(message: str, code: int = NEGATIVE) -> int:
    print(f"riposte: {message}", file=sys.stderr)
    return code


def exit_now(code: int) -> None:
    """Exit without running interpreter teardown.

    Temporal's Rust core can abort at interpreter exit in short-lived processes
    (temporalio/sdk-python#300, a PyGILState_Release error); flushing and leaving with
    os._exit keeps the exit code the command meant.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError):  # `riposte audit | head`: the reader has gone
            stream.flush()
    os._exit(code)
