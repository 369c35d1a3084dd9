"""What every route needs, built once by `create_app` and reached through `api_context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from fastapi import Request

from riposte.api.denials import Denials
from riposte.api.metrics import Metrics
from riposte.api.signing import SignatureGuard
from riposte.api.tokens import TokenStore
from riposte.audit.store import AuditStore
from riposte.service import ResponseService
from riposte.settings import Settings


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    service: ResponseService
    audit: AuditStore
    tokens: TokenStore
    metrics: Metrics
    signatures: SignatureGuard | None  # None: intake needs no signature
    denials: Denials  # refused requests, folded into one audit event per source per window


def api_context(request: Request) -> ApiContext:
    return cast(ApiContext, request.app.state.riposte)
