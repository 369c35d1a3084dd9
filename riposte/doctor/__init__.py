"""`riposte doctor`: check a configuration before go-live, reading and never writing.

    report = await diagnose(settings, user="adele@contoso.com")
    report.passed        # False when any check failed

Checks, in order (`riposte.doctor.tenant`, `.platform`, `.audit`):

    policies            the policy folder loads and every example holds; which modes will act
    credential          the settings name a client secret, certificate or managed identity
    graph token         a token for Graph, and which application permissions it carries
    arm token           a token for Azure Resource Manager
    user                one user (`user`, or the first in the directory) can be read
    inbox rules         that mailbox's inbox rules can be read
    mail folders        that mailbox's folders can be read
    nsg NAME            each configured NSG and its security rules can be read
    temporal            Temporal answers, the namespace exists, the search attribute is there
    audit store         its schema, this role's privileges, and the chain verifies

A refusal (403) names the Graph permission or Azure role that is missing. A check that an earlier
failure makes impossible is skipped, and says why.
"""

from __future__ import annotations

import asyncio

from riposte.audit.key import audit_key
from riposte.doctor.audit import check_audit
from riposte.doctor.platform import check_policies_dir, check_temporal
from riposte.doctor.report import Check, Report, Status
from riposte.doctor.tenant import check_tenant
from riposte.errors import InvalidInput
from riposte.settings import Settings

__all__ = ["DEFAULT_TIMEOUT", "Check", "Report", "Status", "diagnose"]

DEFAULT_TIMEOUT = 30.0


async def diagnose(
    settings: Settings, *, user: str | None = None, call_timeout: float = DEFAULT_TIMEOUT
) -> Report:
    """Run every check (each network call bounded by `call_timeout` seconds)."""
    policies, actions = await asyncio.to_thread(check_policies_dir, settings)
    checks = [policies]
    checks += await check_tenant(
        settings.tenant, user=user, actions=actions, call_timeout=call_timeout
    )
    checks.append(await check_temporal(settings, call_timeout))
    try:
        key = audit_key(settings, create=False)
    except InvalidInput:
        key = None  # unreadable: the chain check then fails and says so
    checks.append(await asyncio.to_thread(check_audit, settings.audit_store_url, key))
    return Report(checks=tuple(checks))
