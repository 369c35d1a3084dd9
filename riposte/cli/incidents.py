"""Operator commands for incidents: `riposte incidents` and `riposte incident show ID`."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from riposte.audit.events import AuditEvent
from riposte.audit.store import open_store
from riposte.cli import common
from riposte.cli.responses import _guarded
from riposte.incidents.models import IncidentView
from riposte.incidents.operations import narrative
from riposte.service import ResponseService, connect


def register(sub: Any) -> None:
    listing = sub.add_parser("incidents", help="list incidents (alerts correlated as campaigns)")
    listing.add_argument("--limit", type=int, default=50)
    common.add_data_dir(listing)
    common.add_format(listing)
    listing.set_defaults(func=_list)

    incident = sub.add_parser("incident", help="one incident").add_subparsers(
        dest="incident", required=True
    )
    show = incident.add_parser("show", help="an incident as one narrative across its accounts")
    show.add_argument("id", help="incident id")
    common.add_data_dir(show)
    common.add_format(show)
    show.set_defaults(func=_show)


def _list(args: argparse.Namespace) -> int:
    def run() -> int:
        settings = common.settings_from(args)

        async def go() -> list[IncidentView]:
            client = await connect(settings)
            return await ResponseService(client, settings.task_queue).incidents.list(args.limit)

        found = asyncio.run(go())
        if args.format == "json":
            common.print_json(found)
            return common.OK
        for i in found:
            print(render_summary(i))
        return common.OK

    return _guarded(run)


def _show(args: argparse.Namespace) -> int:
    def run() -> int:
        settings = common.settings_from(args)

        async def go() -> tuple[IncidentView, list[AuditEvent]]:
            client = await connect(settings)
            incident = await ResponseService(client, settings.task_queue).incidents.view(args.id)
            if args.format == "json":
                return incident, []
            store = open_store(settings.audit_store_url)
            try:
                return incident, await narrative(store, incident)
            finally:
                store.close()

        incident, events = asyncio.run(go())
        if args.format == "json":
            common.print_json(incident)
        else:
            print(render_incident(incident, events))
        return common.OK

    return _guarded(run)


def render_summary(i: IncidentView) -> str:
    who = ", ".join((*i.accounts, *i.devices)) or "-"
    return (
        f"{i.last_alert:%Y-%m-%d %H:%M}  {i.status.value:<6} {i.incident_id}  "
        f"{i.alerts} alerts, {len(i.responses)} responses  {who}"
    )


def render_incident(i: IncidentView, events: list[AuditEvent]) -> str:
    lines = [
        f"incident {i.incident_id}  [{i.status.value}]  key {i.key}",
        f"alerts   {i.alerts}, {i.opened:%Y-%m-%d %H:%M} to {i.last_alert:%Y-%m-%d %H:%M} UTC",
        f"accounts {', '.join(i.accounts) or '-'}",
        f"devices  {', '.join(i.devices) or '-'}",
        f"attacker {', '.join((*i.attacker_ips, *i.asns)) or '-'}",
    ]
    lines += [
        f"escalate {e.by_policy}: {', '.join(e.policies)} -> {e.mode.value}" for e in i.escalations
    ]
    lines.append("")
    for e in events:
        what = f"{e.action} {e.target}" if e.action else e.response_id
        by = "" if e.actor == "engine" else f" by {e.actor}"
        detail = f": {e.detail}" if e.detail else ""
        lines.append(f"{e.time:%Y-%m-%d %H:%M:%S}  {e.kind.value:<18} {what}{by}{detail}")
    return "\n".join(lines)
