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
from collections.abc import Iterable, Sequence
from enum import StrEnum

from riposte.audit.events import AuditEvent

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
