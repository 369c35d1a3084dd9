"""What every subcommand shares: the common options, settings from them, and a clean exit."""

from __future__ import annotations

import argparse
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


def add_actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", default=None, help="who decides (default: the OS user)")
    parser.add_argument("--comment", default="")


def actor(args: argparse.Namespace) -> str:
    by: str | None = getattr(args, "by", None)
    return by or getpass.getuser()


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
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
