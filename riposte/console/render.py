"""Pages from templates, autoescaped, sent with headers that keep them to this origin."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from riposte.actions.catalogue import CATALOGUE
from riposte.actions.payloads import ActionName
from riposte.api.auth import Permission, allows
from riposte.api.tokens import Principal
from riposte.response import ActionState

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make form posts say Origin: null
    "Cache-Control": "no-store",
}

_STATE_TONE = {
    ActionState.PENDING_APPROVAL: "wait",
    ActionState.EXECUTED: "done",
    ActionState.SIMULATED: "quiet",
    ActionState.PLANNED: "quiet",
    ActionState.REJECTED: "stop",
    ActionState.EXPIRED: "stop",
    ActionState.FAILED: "bad",
    ActionState.REVERTED: "quiet",
    ActionState.RELEASED: "quiet",
    ActionState.EXCLUDED: "quiet",
}


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _tone(state: str) -> str:
    try:
        return _STATE_TONE[ActionState(state)]
    except ValueError:
        return "quiet"


_ENTITY_LABELS = {"ip": "IP", "asn": "ASN", "inbox_rules": "Inbox rules"}


def _entity(name: str) -> str:
    return _ENTITY_LABELS.get(name, name.replace("_", " ").capitalize())


def _can(user: Principal | None, permission: str) -> bool:
    return user is not None and allows(user.role, Permission(permission))


def segment(value: object) -> str:
    """An id as one URL path segment: every reserved character encoded, `/` included.

    Jinja's `urlencode` keeps `/`, so an id like `q/../darktrace:victim-2` would let the browser
    resolve `..` and aim a form at another action; `quote(safe="")` leaves it one segment.
    """
    return quote(str(value), safe="")


def _reversible(action: ActionName) -> bool:
    """Whether the catalogue gives the action a revert (so its block can be released)."""
    return CATALOGUE[action].reversible


def _short(text: str, width: int = 12) -> str:
    return text[:width]


_env = Environment(
    loader=PackageLoader("riposte.console", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["when"] = _when
_env.filters["tone"] = _tone
_env.filters["short"] = _short
_env.filters["segment"] = segment
_env.filters["reversible"] = _reversible
_env.filters["entity"] = _entity
_env.filters["first_line"] = lambda text: str(text).partition("\n")[0]  # an alert_received's
_env.filters["rest_lines"] = lambda text: str(text).partition("\n")[2]  # summary, then its alert
_env.globals["can"] = _can


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=dict(SECURITY_HEADERS))
