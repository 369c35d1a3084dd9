"""`riposte emulator`: run the HTTPS tenant emulator (login, Graph, ARM, /_emulator seam)."""

from __future__ import annotations

import argparse
from pathlib import Path

from riposte.cli import common
from riposte.emulator_package import require_emulator
from riposte.errors import InvalidInput, Unavailable


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "emulator",
        help="run the local HTTPS tenant emulator",
        description=__doc__,
        epilog="A fault is ROUTE=SPEC, e.g. graph.users.patch=429,retry_after=2,count=1 or "
        "'arm.rules.put=deny' or 'PATCH /v1.0/users/*=503,fraction=0.5' or "
        "'graph.*=latency_ms=300'. Route names: see tenant_emulator/routes.py.",
    )
    common.add_data_dir(parser)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (127.0.0.1); the /_emulator test seam has no auth, so "
        "bind beyond localhost only on a trusted network",
    )
    parser.add_argument("--port", type=int, default=8443, help="port (8443; 0 picks a free one)")
    parser.add_argument("--seed", type=Path, default=None, help="tenant seed YAML (the demo)")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="ROUTE=SPEC", help="inject a fault"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = common.settings_from(args)
    try:
        require_emulator()
        from tenant_emulator.faults import parse_fault
        from tenant_emulator.server import serve

        faults = [parse_fault(text) for text in args.fault]
        serve(settings.data_dir, seed=args.seed, host=args.host, port=args.port, faults=faults)
    except InvalidInput as err:
        return common.fail(str(err), common.USAGE)
    except Unavailable as err:
        return common.fail(str(err))
    return common.OK
