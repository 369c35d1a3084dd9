"""The console's backtest page (admin): the policies on disk against a folder or uploaded files.

GET /backtest shows the form; POST /backtest runs the same backtest as `POST
/v1/policies/backtest` and shows its report. The form is multipart (file uploads), read with
the standard library's MIME parser; the body size limit of the API applies to uploads too.
"""

from __future__ import annotations

import asyncio
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response

from riposte.api.auth import Permission
from riposte.api.context import api_context
from riposte.api.routes.backtest import report_for
from riposte.api.tokens import Principal
from riposte.backtest.service import BacktestRequest
from riposte.console.render import page
from riposte.console.session import guard
from riposte.errors import InvalidInput, Unavailable
from riposte.policy.durations import parse_duration

router = APIRouter(include_in_schema=False)
Admin = Annotated[Principal, Depends(guard(Permission.BACKTEST))]


@router.get("/backtest")
async def backtest_form(request: Request, user: Admin) -> Response:
    return page(
        "backtest.html", user=user, policies=str(api_context(request).settings.policies_dir)
    )


@router.post("/backtest")
async def backtest_run(request: Request, user: Admin) -> Response:
    ctx = api_context(request)
    fields, uploads = await _form(request)
    shown: dict[str, Any] = {
        "user": user,
        "policies": str(ctx.settings.policies_dir),
        "fields": fields,
    }
    try:
        folder = fields.get("alerts_dir", "").strip()
        against = fields.get("against", "").strip()
        since = fields.get("since", "").strip()
        backtest_request = BacktestRequest(
            files=(Path(folder),) if folder else (),
            uploads=tuple(uploads),
            since=parse_duration(since) if since else None,
            against=Path(against) if against else None,
        )
        report, problems = await asyncio.to_thread(report_for, backtest_request, ctx)
    except (InvalidInput, ValueError) as err:
        return page("backtest.html", 422, error=str(err), **shown)
    except Unavailable as err:
        return page("backtest.html", 503, error=str(err), **shown)
    return page("backtest.html", report=report, problems=problems, **shown)


async def _form(request: Request) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The form's text fields, and its uploaded files as (name, text)."""
    body = await request.body()
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        text = body.decode("utf-8", errors="replace")
        return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}, []
    header = f"Content-Type: {kind}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(header + body)
    fields: dict[str, str] = {}
    uploads: list[tuple[str, str]] = []
    for part in message.iter_parts() if message.is_multipart() else ():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        raw = part.get_payload(decode=True)
        data = raw if isinstance(raw, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            if data.strip():
                uploads.append((filename, data.decode("utf-8", errors="replace")))
        elif isinstance(name, str):
            fields[name] = data.decode("utf-8", errors="replace")
    return fields, uploads
