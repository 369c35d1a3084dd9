"""The checks on Riposte's own ground: the policy folder, and the Temporal service it runs on."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.service import RPCError, RPCStatusCode

from riposte.actions.payloads import ActionName
from riposte.doctor.report import Check, fail, ok
from riposte.errors import Unavailable
from riposte.policy.check import check_policies
from riposte.service import connect
from riposte.settings import Settings
from riposte.temporal_server import SEARCH_ATTRIBUTES, cli_type

_SHOWN_ERRORS = 3


def check_policies_dir(settings: Settings) -> tuple[Check, frozenset[ActionName]]:
    """`policy check` on the policy folder; and the actions the policies use (all of them when
    the folder cannot be read, so that no permission goes unchecked)."""
    folder = settings.policies_dir
    every = frozenset(ActionName)
    if not folder.is_dir():
        return fail("policies", f"no policy folder {folder}: set RIPOSTE_POLICIES_DIR"), every
    result = check_policies([folder])
    if result.errors:
        shown = "; ".join(str(error) for error in result.errors[:_SHOWN_ERRORS])
        more = len(result.errors) - _SHOWN_ERRORS
        shown += f"; and {more} more (riposte policy check)" if more > 0 else ""
        return fail("policies", f"{len(result.errors)} error(s): {shown}"), every
    if not result.policies:
        return fail("policies", f"no policy in {folder}: nothing would ever match"), every
    modes = []
    for loaded in result.policies:
        mode = (
            "passive" if settings.force_passive else (loaded.policy.mode or settings.default_mode)
        )
        modes.append(f"{loaded.policy.name} ({mode})")
    switch = "; the kill switch forces passive everywhere" if settings.force_passive else ""
    used = frozenset(spec.name for loaded in result.policies for spec in loaded.policy.actions)
    return ok("policies", f"{len(modes)} in {folder}: {', '.join(modes)}{switch}"), used


async def check_temporal(settings: Settings, call_timeout: float) -> Check:
    """Temporal answers through the SDK's environment configuration, the namespace exists, and
    Riposte's search attributes are registered on it."""
    try:
        client = await asyncio.wait_for(connect(settings), call_timeout)
    except (Unavailable, TimeoutError) as err:
        reason = str(err) or f"no answer within {call_timeout:g}s"
        return fail(
            "temporal",
            f"{reason}: set TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE (with TLS or an API key), "
            "or TEMPORAL_PROFILE with a Temporal config file",
        )
    where = f"{client.service_client.config.target_host}, namespace {client.namespace}"
    limit = timedelta(seconds=call_timeout)
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace), timeout=limit
        )
        found = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace), timeout=limit
        )
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return fail("temporal", f"{where}: the namespace does not exist ({err.message})")
        return fail("temporal", f"{where}: {err.message}")
    absent = [
        key
        for key in SEARCH_ATTRIBUTES
        if found.custom_attributes.get(key.name) != key.indexed_value_type.value
    ]
    if absent:
        commands = "; ".join(
            f"temporal operator search-attribute create --namespace {client.namespace} "
            f"--name {key.name} --type {cli_type(key)}"
            for key in absent
        )
        return fail(
            "temporal",
            f"{where}: search attribute {', '.join(k.name for k in absent)} is not registered: "
            f"{commands} (Temporal Cloud: add it to the namespace)",
        )
    names = ", ".join(key.name for key in SEARCH_ATTRIBUTES)
    return ok("temporal", f"{where}: reachable; search attribute {names} registered")
