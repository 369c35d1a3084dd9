"""Audit events as an auditor takes them away: JSON, CSV, or a table for the terminal.

Event text is attacker-influenced (alert names, rule names, comments), so each format makes it
safe for where it lands: JSON escapes it, CSV neutralises cells a spreadsheet would run as a
formula (OWASP: a leading `'`), and the table escapes control characters so nothing reaches the
terminal as an escape sequence.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum

from riposte.audit.events import AuditEvent, AuditFilter
from riposte.audit.store import AuditStore

FIELDS: tuple[str, ...] = ("seq", *(name for name in AuditEvent.model_fields if name != "seq"))
"""Export column order: seq first, then the event's fields as the model declares them."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TABLE = ("seq", "time", "kind", "actor", "mode", "action", "target", "response_id", "detail")
_WIDEST = {"target": 32, "response_id": 28, "detail": 60}


class ExportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def render(events: Sequence[AuditEvent], fmt: ExportFormat) -> str:
    if fmt is ExportFormat.JSON:
        return to_json(events)
    if fmt is ExportFormat.CSV:
        return to_csv(events)
    return to_table(events)


def to_json(events: Iterable[AuditEvent]) -> str:
    """A JSON array of events, every field included."""
    return json.dumps([_ordered(event) for event in events], indent=2) + "\n"


def to_csv(events: Iterable[AuditEvent]) -> str:
    """CSV with a header row; times in ISO 8601 UTC."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for event in events:
        row = _ordered(event)
        writer.writerow([_cell(row[name]) for name in FIELDS])
    return out.getvalue()


STREAM_CHUNK = 1000  # events read from the store at a time while streaming


def events_of(store: AuditStore, f: AuditFilter, chunk: int = STREAM_CHUNK) -> Iterator[AuditEvent]:
    """Every event that passes `f` (up to its limit), read `chunk` at a time by seq, so an
    export of any size holds one chunk in memory. Blocking: iterate it off the event loop."""
    after, left = f.after_seq, f.limit
    while left is None or left > 0:
        size = chunk if left is None else min(chunk, left)
        found = store.query(f.model_copy(update={"after_seq": after, "limit": size}))
        yield from found
        if len(found) < size:
            return
        after = found[-1].seq
        left = None if left is None else left - len(found)


def stream(events: Iterable[AuditEvent], fmt: ExportFormat) -> Iterator[str]:
    """`render`, a piece at a time: JSON and CSV are never held whole."""
    if fmt is ExportFormat.JSON:
        yield "["
        for n, event in enumerate(events):
            body = json.dumps(_ordered(event), indent=2).replace("\n", "\n  ")
            yield ("," if n else "") + "\n  " + body
        yield "\n]\n"
    elif fmt is ExportFormat.CSV:
        yield to_csv(())  # the header row
        for event in events:
            yield to_csv((event,)).partition("\n")[2]
    else:
        yield to_table(list(events))  # a terminal's table aligns every row: read whole


def to_table(events: Sequence[AuditEvent]) -> str:
    """Aligned columns for a terminal; long values are cut with `…`."""
    if not events:
        return "no audit events\n"
    rows = [[name.upper().removesuffix("_ID") for name in _TABLE]]
    for event in events:
        row = _ordered(event)
        row["time"] = event.time.strftime("%Y-%m-%d %H:%M:%SZ")
        rows.append([_fit(_printable(str(row[name])), _WIDEST.get(name)) for name in _TABLE])
    widths = [max(len(row[i]) for row in rows) for i in range(len(_TABLE))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _ordered(event: AuditEvent) -> dict[str, object]:
    data = event.model_dump(mode="json")
    return {name: data[name] for name in FIELDS}


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _fit(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"
