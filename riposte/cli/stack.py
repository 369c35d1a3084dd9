"""Commands that run Riposte: the embedded dev stack, a worker, and the demo."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from riposte.cli import common
from riposte.emulator_package import EmulatorNotInstalled, require_emulator
from riposte.logging import configure_logging


def register(sub: Any) -> None:
    dev = sub.add_parser("dev", help="run the embedded stack with the demo tenant")
    common.add_data_dir(dev)
    common.add_policies(dev)
    dev.set_defaults(func=_dev)

    worker = sub.add_parser("worker", help="run a worker (the same as python worker.py)")
    common.add_data_dir(worker)
    common.add_policies(worker)
    worker.set_defaults(func=_worker)

    demo = sub.add_parser("demo", help="replay both incidents and show every mode at work")
    common.add_data_dir(demo)
    common.add_policies(demo)
    demo.set_defaults(func=_demo)


async def until_signalled(work: Any) -> None:
    """Run work(stop) until SIGINT or SIGTERM sets `stop`."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await work(stop)


def _dev(args: argparse.Namespace) -> int:
    from riposte.stack import run_dev_stack

    settings = common.settings_from(args)
    try:
        require_emulator()
    except EmulatorNotInstalled as err:
        return common.fail(str(err))
    configure_logging(settings.log_format)
    asyncio.run(until_signalled(lambda stop: run_dev_stack(settings, stop)))
    print("Riposte dev stack stopped.")
    return common.OK


def _worker(args: argparse.Namespace) -> int:
    import worker
    from riposte.metrics import start_worker_metrics
    from riposte.service import connect

    settings = common.settings_from(args)
    configure_logging(settings.log_format)
    start_worker_metrics(settings)  # before connecting: the runtime must exist first

    async def go(stop: asyncio.Event) -> None:
        client = await connect(settings)
        await worker.run_worker(client, settings, stop=stop)

    asyncio.run(until_signalled(go))
    return common.OK


def _demo(args: argparse.Namespace) -> int:
    from riposte.demo import run_demo

    settings = common.settings_from(args)
    configure_logging(settings.log_format, level=30)
    return asyncio.run(run_demo(settings))
