"""`riposte reconcile [--dry-run]`: revert the blocks no live response holds (see
activities/reconcile.py), the same pass the worker's Schedule runs."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.clients import connect as connect_tenant
from activities.nsg_access import NsgAccess
from activities.reconcile import Reconciler, temporal_liveness
from activities.sign_in_block import SignInBlockActivities
from riposte.audit.store import open_configured
from riposte.cli import common
from riposte.errors import RiposteError
from riposte.holders.ledger import Ledger
from riposte.holders.report import ReconcileReport, ReconcileRequest
from riposte.logging import configure_logging
from riposte.service import connect
from riposte.settings import Settings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "reconcile",
        help="revert NSG rules no live response holds (terminated, lost history)",
        description="Compare the holders ledger, Temporal and the managed NSGs; release the holds "
        "of responses that no longer run, delete the rules nobody live holds, and audit each as "
        "`reconciled`. The worker runs the same pass on a schedule.",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="report what would be reverted; change nothing"
    )
    common.add_data_dir(parser)
    common.add_format(parser)
    parser.set_defaults(func=reconcile_command)


def reconcile_command(args: argparse.Namespace) -> int:
    settings = common.settings_from(args)
    configure_logging(settings.log_format, level=logging.WARNING)
    try:
        report = asyncio.run(reconcile(settings, ReconcileRequest(dry_run=args.dry_run)))
    except (RiposteError, ApplicationError) as err:
        return common.fail(str(err))
    if args.format == "json":
        common.print_json(report)
        return common.OK
    for finding in report.findings:
        print(f"{finding.kind.value}: {finding.detail}")
    verb = "would revert" if report.dry_run else "reverted"
    print(f"{verb} {len(report.findings)}; {report.live_blocks} block(s) held by live responses")
    return common.OK


async def reconcile(settings: Settings, request: ReconcileRequest) -> ReconcileReport:
    """One pass, from the CLI: its own Temporal client, tenant clients, ledger and store."""
    client = await connect(settings)
    tenant = connect_tenant(settings.tenant)
    store = open_configured(settings)
    ledger = Ledger(settings.audit_store_url)
    try:
        reconciler = Reconciler(
            temporal_liveness(client),
            NsgAccess(tenant.network),
            settings.tenant,
            ledger,
            store,
            ranges=SignInBlockActivities(
                tenant.graph, settings.tenant, settings.protected_users, ledger
            ),
        )
        return await reconciler.run(request)
    finally:
        ledger.close()
        store.close()
        await tenant.close()
