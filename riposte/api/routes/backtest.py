"""POST /v1/policies/backtest (admin): what the policies on disk would have done with past alerts.

The alerts are the request's own (`alerts`, bodies in any format the adapters read), the alert
files of a folder on the server (`alerts_dir`), or else the audit store's last `since` (30d).
`against` names a policy folder on the server to compare with. Nothing runs and nothing
changes; values that are not alerts are listed in `problems` (the first 100) and skipped.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from riposte.adapters import AUTO
from riposte.api.auth import Permission, require
from riposte.api.context import ApiContext, api_context
from riposte.api.errors import Problem
from riposte.api.tokens import Principal
from riposte.backtest.report import BacktestReport
from riposte.backtest.run import PolicySetError
from riposte.backtest.service import BacktestRequest, backtest
from riposte.backtest.sources import BadInput
from riposte.errors import InvalidInput
from riposte.model import Frozen
from riposte.policy.durations import Duration

router = APIRouter(prefix="/v1", tags=["policies"])
Admin = Annotated[Principal, Depends(require(Permission.BACKTEST))]
Context = Annotated[ApiContext, Depends(api_context)]
MAX_PROBLEMS = 100


class BacktestBody(Frozen):
    alerts: tuple[Any, ...] | None = Field(default=None, max_length=100_000)
    alerts_dir: str | None = None  # a folder (or file) of alert files on the server
    since: Duration | None = None  # the audit store's window, like "30d"
    against: str | None = None  # a policy folder on the server to compare with
    source_format: str = AUTO


class BacktestAnswer(BacktestReport):
    problems: tuple[str, ...] = ()  # FILE:LINE: message, the first MAX_PROBLEMS


@router.post(
    "/policies/backtest",
    responses={401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}},
    response_model_exclude_none=True,
)
async def run_backtest(body: BacktestBody, _: Admin, ctx: Context) -> BacktestAnswer:
    """Replay alerts through the policies on disk (and `against`), reporting per policy."""
    request = BacktestRequest(
        files=(Path(body.alerts_dir),) if body.alerts_dir else (),
        bodies=body.alerts,
        since=body.since,
        against=Path(body.against) if body.against else None,
        source_format=body.source_format,
    )
    report, problems = await asyncio.to_thread(report_for, request, ctx)
    return BacktestAnswer(**dict(report), problems=tuple(problems))


def report_for(request: BacktestRequest, ctx: ApiContext) -> tuple[BacktestReport, list[str]]:
    """The report, and the first problems found in the input (the console shares this)."""
    problems: list[str] = []

    def note(bad: BadInput) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(str(bad))

    try:
        return backtest(request, ctx.settings, on_bad=note), problems
    except PolicySetError as err:
        listed = "; ".join(str(e) for e in err.errors[:MAX_PROBLEMS])
        raise InvalidInput(f"{err}: {listed}" if listed else str(err)) from None
