"""The HTTP API and the operators' console, as one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from riposte.api import errors
from riposte.api.context import ApiContext
from riposte.api.denials import Denials
from riposte.api.limits import BodySizeLimit
from riposte.api.metrics import Metrics
from riposte.api.routes import alerts, approvals, audit, backtest, health, incidents, responses
from riposte.api.signing import SignatureGuard
from riposte.api.tokens import TokenStore
from riposte.audit.store import AuditStore
from riposte.console import incidents as console_incidents
from riposte.console import pages
from riposte.service import ResponseService
from riposte.settings import Settings

DESCRIPTION = """\
Alerting systems post alerts here; SOC admins decide on pending actions and release blocks;
auditors read the audit trail. Every route but `/healthz`, `/readyz` and `/metrics` takes a
bearer token (`riposte token create --role ROLE --name NAME`), bound to one role: `sender`,
`approver`, `auditor` or `admin`. Refused attempts are audited.
"""


def create_app(
    settings: Settings, service: ResponseService, audit_store: AuditStore, tokens: TokenStore
) -> FastAPI:
    metrics = Metrics(settings.metric_sources)
    secret = settings.hmac_secret
    app = FastAPI(
        title="Riposte",
        version="1",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # the docs page would load third-party scripts into this origin
        redoc_url=None,
    )
    app.state.riposte = ApiContext(
        settings=settings,
        service=service,
        audit=audit_store,
        tokens=tokens,
        metrics=metrics,
        signatures=SignatureGuard(secret, settings.hmac_max_age_seconds) if secret else None,
        denials=Denials(
            audit_store,
            settings.guardrails.denied_window_seconds,
            settings.guardrails.denied_limit,
        ),
    )
    errors.install(app, alerts.FORMATS)
    for module in (alerts, responses, approvals, incidents, audit, backtest, health):
        app.include_router(module.router)
    pages.mount(app)
    app.include_router(console_incidents.router)

    def refused_up_front(path: str) -> None:
        if path == "/v1/alerts":
            metrics.alerts_refused.labels(errors.ErrorCode.TOO_LARGE.value).inc()

    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, on_refused=refused_up_front
    )
    return app
