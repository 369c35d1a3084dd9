"""schemathesis over the published OpenAPI, against the real API on a real worker, with real
tokens: no answer is a 5xx, and every status an operation answers is one it documents.

Bounded in examples (a few per operation, derandomized) so that it stays a quick test; the
operations that start or decide responses run too, so their refusals are fuzzed as well.
"""

from __future__ import annotations

import asyncio
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from riposte.api.server import listening
from riposte.api.tokens import Role
from tests.plugins.api import ApiFactory
from tests.responses import network_policy

EXAMPLES = 8


def fuzz(base: str, token: str) -> list[str]:
    """Every failure found, as `METHOD PATH: what`, after EXAMPLES cases per operation."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        @hypothesis.given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(base_url=base, headers=headers, timeout=30)
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance])

        try:
            check()
        except Exception as err:  # the check failures schemathesis found, as one group
            failures.append(f"{operation.method.upper()} {operation.path}: {err}"[:800])
    return failures


async def test_the_published_openapi_holds_under_fuzzing(make_api: ApiFactory) -> None:
    """Fuzzed requests to every operation, as an admin: no 5xx, and only documented statuses."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    async with listening(api.app, "127.0.0.1", 0) as base:
        failures = await asyncio.to_thread(fuzz, base, api.token[Role.ADMIN])
    assert failures == []
