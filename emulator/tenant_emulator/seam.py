"""The test seam under /_emulator/: read the tenant, count calls, set faults, reset.

It needs no token (it is for tests and the local stack; the emulator binds 127.0.0.1 by default)
and its own requests are not counted.

    GET    /_emulator/state    users, inbox_rules, messages, mail_folders (by UPN), nsgs (by name)
    GET    /_emulator/calls    {"METHOD /route/{template}": count}, every request received
    GET    /_emulator/effects  the same, for writes that succeeded: side effects applied
    GET    /_emulator/flow     ?src=IP&dst=IP&port=N&proto=tcp|udp: {decision, nsg, rule, ...}
    GET    /_emulator/faults   the faults in force, with how often each has hit
    POST   /_emulator/faults   one fault object or a list (see tenant_emulator.faults)
    DELETE /_emulator/faults   clear every fault
    POST   /_emulator/reset    back to the start seed, calls and faults; or to {"seed": {...}}
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from riposte.errors import InvalidInput
from tenant_emulator.faults import Fault
from tenant_emulator.flow import Protocol, decide
from tenant_emulator.guard import state_of
from tenant_emulator.seed import parse_seed


def _problem(status: int, message: str) -> Response:
    return JSONResponse({"detail": message}, status_code=status)


async def _json(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else None


async def get_state(request: Request) -> Response:
    return JSONResponse(state_of(request).tenant.snapshot())


async def get_calls(request: Request) -> Response:
    return JSONResponse(dict(state_of(request).calls))


async def get_effects(request: Request) -> Response:
    return JSONResponse(dict(state_of(request).effects))


async def get_flow(request: Request) -> Response:
    query = request.query_params
    try:
        src = ipaddress.ip_address(query["src"])
        dst = ipaddress.ip_address(query["dst"])
        port = int(query["port"])
        proto = Protocol(query.get("proto", "tcp").lower())
        sport = int(query.get("sport", "49152"))
    except KeyError as err:
        return _problem(422, f"missing query parameter {err.args[0]}")
    except ValueError as err:
        return _problem(422, f"bad query: {err}")
    if not (0 <= port <= 65535 and 0 <= sport <= 65535):
        return _problem(422, "ports run from 0 to 65535")
    return JSONResponse(decide(state_of(request).tenant.topology, src, dst, port, proto, sport))


async def get_faults(request: Request) -> Response:
    return JSONResponse(state_of(request).faults.listing())


async def add_faults(request: Request) -> Response:
    try:
        body = await _json(request)
        items = body if isinstance(body, list) else [body]
        faults = [Fault.model_validate(item) for item in items]
    except json.JSONDecodeError as err:
        return _problem(400, f"malformed JSON: {err}")
    except ValidationError as err:
        first = err.errors()[0]
        return _problem(422, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    state = state_of(request)
    state.add_faults(faults)
    return JSONResponse(state.faults.listing(), status_code=201)


async def clear_faults(request: Request) -> Response:
    state_of(request).faults.clear()
    return Response(status_code=204)


async def reset(request: Request) -> Response:
    try:
        body = await _json(request)
        seed = parse_seed(body["seed"]) if isinstance(body, dict) and "seed" in body else None
    except json.JSONDecodeError as err:
        return _problem(400, f"malformed JSON: {err}")
    except InvalidInput as err:
        return _problem(422, str(err))
    state_of(request).reset(seed)
    return Response(status_code=204)


ROUTES: list[Route] = [
    Route("/_emulator/state", get_state, methods=["GET"]),
    Route("/_emulator/calls", get_calls, methods=["GET"]),
    Route("/_emulator/effects", get_effects, methods=["GET"]),
    Route("/_emulator/flow", get_flow, methods=["GET"]),
    Route("/_emulator/faults", get_faults, methods=["GET"]),
    Route("/_emulator/faults", add_faults, methods=["POST"]),
    Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
    Route("/_emulator/reset", reset, methods=["POST"]),
]
