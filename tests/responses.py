"""Alerts, policies and waits that the response tests share (incidents 1 and 2 of DESIGN.md)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from riposte.alerts import Alert
from riposte.errors import RiposteError
from riposte.response import ActionState, ResponseView
from riposte.service import ResponseService
from tests.eventually import eventually

HIJACKED = "ben@contoso.com"
VPN_IP = "10.8.0.25"


def takeover_policy(mode: str, *, extra: str = "", duration: str = "24h") -> str:
    return f"""
name: m365-account-takeover
match:
  source: darktrace
  name: ["SaaS / Compromise / *", "SaaS / Unusual Activity / *"]
  severity: ">= high"
  score: ">= 0.7"
  entities: [user]
mode: {mode}
actions:
  - disable_sign_in
  - revoke_sessions
  - delete_inbox_rules: {{which: suspicious}}
  - quarantine_mail: {{sent_within: 24h}}
duration: {duration}
exclude:
  users: [breakglass@contoso.com]
{extra}
"""


def network_policy(mode: str, *, extra: str = "", duration: str = "2h") -> str:
    return f"""
name: network-lateral-movement
match:
  source: darktrace
  name: ["Device / Suspicious SMB Scanning Activity", "Device / Network Scan",
         "Device / Attack and Recon Tools", "Device / SMB Session Brute Force*"]
  entities: [ip]
mode: {mode}
actions:
  - block_ports: {{ports: [445, 9401]}}
  - block_outbound
duration: {duration}
exclude:
  ips: [10.0.0.0/24]
{extra}
"""


def takeover_alert(user: str = HIJACKED, **fields: Any) -> Alert:
    return Alert.model_validate(
        {
            "id": f"dt-{uuid.uuid4().hex[:10]}",
            "source": "darktrace",
            "name": "SaaS / Compromise / Unusual Login and New Email Rule",
            "severity": "high",
            "score": 0.93,
            "time": datetime(2021, 6, 9, 9, 12, tzinfo=UTC),
            "entities": {
                "user": user,
                "ip": "198.51.100.7",
                "asn": "AS64500",
                "messages": ["<AM6PR01MB1234@contoso.com>"],
                "inbox_rules": ["."],
            },
            **fields,
        }
    )


def scan_alert(ip: str = VPN_IP) -> Alert:
    return Alert.model_validate(
        {
            "id": f"dt-{uuid.uuid4().hex[:10]}",
            "source": "darktrace",
            "name": "Device / Suspicious SMB Scanning Activity",
            "severity": "high",
            "score": 0.88,
            "time": datetime(2023, 2, 14, 22, 41, tzinfo=UTC),
            "entities": {"ip": ip, "device": "vpn-remote-user"},
        }
    )


async def wait_for(
    service: ResponseService,
    response_id: str,
    done: Callable[[ResponseView], bool],
    within: float = 60.0,
) -> ResponseView:
    """Poll the response until `done` holds; fail with its last state if it never does."""
    return await eventually(
        lambda: service.view(response_id),
        until=done,
        within=within,
        what=f"response {response_id}",
        retry_on=(RiposteError, RPCError),  # not visible yet
    )


def all_in(*states: ActionState) -> Callable[[ResponseView], bool]:
    """True once the response has actions and every one is in one of `states`."""
    return lambda view: bool(view.actions) and all(a.state in states for a in view.actions)


def states(view: ResponseView) -> dict[str, str]:
    return {a.action.value: a.state.value for a in view.actions}


async def pending_timers(client: Client, response_id: str) -> list[int]:
    """The ids of the workflow's timers that are started and neither fired nor cancelled."""
    history = await client.get_workflow_handle(response_id).fetch_history()
    started: dict[int, int] = {}
    for event in history.events:
        if event.HasField("timer_started_event_attributes"):
            started[event.event_id] = event.event_id
        elif event.HasField("timer_fired_event_attributes"):
            started.pop(event.timer_fired_event_attributes.started_event_id, None)
        elif event.HasField("timer_canceled_event_attributes"):
            started.pop(event.timer_canceled_event_attributes.started_event_id, None)
    return sorted(started)
