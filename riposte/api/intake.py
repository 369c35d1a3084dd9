"""Alert intake: one body in, one alert or a batch of them out, each answered on its own.

A body is one JSON value, or NDJSON (one value a line) when its Content-Type says so. A JSON
array is a batch, as is any NDJSON body. Within a batch each item is parsed, checked and started
apart, so one bad item refuses only itself; the same alert twice in a batch gives one response.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from pydantic import ValidationError
from temporalio.service import RPCError

from riposte.adapters import AUTO, detect_format
from riposte.adapters.caps import parse_bounded
from riposte.alerts import Alert, AlertCaps
from riposte.api.errors import (
    ErrorCode,
    Forbidden,
    MalformedJson,
    Problem,
    malformed_at,
    problem_of,
)
from riposte.api.tokens import Principal
from riposte.errors import InvalidInput, RiposteError, Unavailable
from riposte.model import Frozen
from riposte.service import ResponseService, Submission

NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"}
)
_CONCURRENCY = 16
TOO_DEEP = "JSON nested deeper than the parser's limit"


class ItemAnswer(Frozen):
    """The answer to one item of a batch: 202 with its response, or an error of its own."""

    index: int  # from 0, in the order sent
    status: int
    line: int | None = None  # NDJSON only
    response_id: str | None = None
    duplicate: bool | None = None
    error: Problem | None = None


class BatchAnswer(Frozen):
    accepted: int  # answered 202, duplicates included
    duplicates: int
    refused: int
    items: tuple[ItemAnswer, ...]


@dataclass(frozen=True)
class Item:
    index: int
    line: int | None
    value: object = None
    error: RiposteError | None = None


def is_ndjson(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in NDJSON_TYPES


@dataclass(frozen=True)
class Decoded:
    items: list[Item]
    batch: bool  # False: one alert, answered alone


def decode(body: bytes, *, ndjson: bool, fmt: str = AUTO) -> Decoded:
    """The items of a body. Raises MalformedJson, or InvalidInput for an empty batch.

    A JSON array is a batch, unless an adapter of format `fmt` reads the whole array as one
    alert (Darktrace's breach details are an array of the breach and its events).
    """
    text = _text(body)
    if ndjson:
        items = [_line(i, n, line) for i, (n, line) in enumerate(_lines(text))]
        if not items:
            raise InvalidInput("an NDJSON batch needs at least one line", location="body")
        return Decoded(items, batch=True)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise malformed_at(err.msg, err.doc, err.pos) from err
    except RecursionError as err:
        raise MalformedJson(TOO_DEEP, line=1, column=1) from err
    if isinstance(value, list) and not _one_alert(value, fmt):
        if not value:
            raise InvalidInput("a batch needs at least one alert", location="body")
        return Decoded([Item(index=i, line=None, value=v) for i, v in enumerate(value)], batch=True)
    return Decoded([Item(index=0, line=None, value=value)], batch=False)


def _one_alert(value: list[object], fmt: str) -> bool:
    try:
        found = detect_format(value)
    except InvalidInput:
        return False
    return fmt in (AUTO, found)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        prefix = body[: err.start]
        line = prefix.count(b"\n") + 1
        column = err.start - (prefix.rfind(b"\n") + 1) + 1
        raise MalformedJson("the body is not UTF-8", line=line, column=column) from err


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _line(index: int, number: int, line: str) -> Item:
    try:
        return Item(index=index, line=number, value=json.loads(line))
    except json.JSONDecodeError as err:
        return Item(
            index=index, line=number, error=MalformedJson(err.msg, line=number, column=err.colno)
        )
    except RecursionError:
        return Item(index=index, line=number, error=MalformedJson(TOO_DEEP, line=number, column=1))


def parse_items(
    items: list[Item], fmt: str, formats: tuple[str, ...], caps: AlertCaps
) -> list[ItemAnswer | tuple[Item, Alert]]:
    """Parse every item; answer the ones that fail, and return the rest with their alert."""
    parsed: list[ItemAnswer | tuple[Item, Alert]] = []
    for item in items:
        try:
            if item.error is not None:
                raise item.error
            parsed.append((item, parse_bounded(item.value, fmt, caps)))
        except (RiposteError, ValidationError) as err:
            parsed.append(refusal(item, err, formats))
    return parsed


def bind(
    parsed: list[ItemAnswer | tuple[Item, Alert]], sender: Principal
) -> tuple[list[ItemAnswer | tuple[Item, Alert]], list[str]]:
    """Refuse (403) each alert whose source the sender is not bound to; also return those
    sources, for the audit."""
    kept: list[ItemAnswer | tuple[Item, Alert]] = []
    refused: list[str] = []
    for entry in parsed:
        if isinstance(entry, tuple) and not sender.may_claim(entry[1].source):
            source = entry[1].source
            refused.append(source)
            bound = ", ".join(sender.sources)
            why = Forbidden(f"token {sender.name} may claim source {bound}, not {source}")
            kept.append(refusal(entry[0], why, ()))
        else:
            kept.append(entry)
    return kept, sorted(set(refused))


async def submit_batch(
    service: ResponseService, parsed: list[ItemAnswer | tuple[Item, Alert]], sender: str
) -> list[ItemAnswer]:
    """Start every parsed alert (at most a few at once); repeats in the batch are duplicates."""
    gate = asyncio.Semaphore(_CONCURRENCY)
    first: dict[str, asyncio.Task[Submission]] = {}

    async def start(alert: Alert) -> Submission:
        async with gate:
            return await service.submit(alert, sender=sender)

    async def answer(entry: ItemAnswer | tuple[Item, Alert]) -> ItemAnswer:
        if isinstance(entry, ItemAnswer):
            return entry
        item, alert = entry
        repeat = alert.key in first
        if not repeat:
            first[alert.key] = asyncio.ensure_future(start(alert))
        try:
            submission = await asyncio.shield(first[alert.key])
        except RiposteError as err:
            return refusal(item, err, ())
        except RPCError as err:  # not accepted, so the sender must retry: 503
            return refusal(item, Unavailable(f"Temporal: {err.message}"), ())
        return ItemAnswer(
            index=item.index,
            line=item.line,
            status=202,
            response_id=submission.response_id,
            duplicate=submission.duplicate or repeat,
        )

    return list(await asyncio.gather(*(answer(entry) for entry in parsed)))


def refusal(item: Item, err: Exception, formats: tuple[str, ...]) -> ItemAnswer:
    status, problem = problem_of(err, formats)
    return ItemAnswer(index=item.index, line=item.line, status=status, error=problem)


def tally(answers: list[ItemAnswer]) -> BatchAnswer:
    accepted = [a for a in answers if a.status == 202]
    return BatchAnswer(
        accepted=len(accepted),
        duplicates=sum(1 for a in accepted if a.duplicate),
        refused=len(answers) - len(accepted),
        items=tuple(answers),
    )


def sources(parsed: list[ItemAnswer | tuple[Item, Alert]]) -> dict[int, str]:
    """Each parsed item's alert source, by index (metrics are labelled with it)."""
    return {entry[0].index: entry[1].source for entry in parsed if isinstance(entry, tuple)}


def refusal_reason(problem: Problem | None) -> str:
    return problem.error.value if problem is not None else ErrorCode.INVALID.value
