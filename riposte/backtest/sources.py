"""Where a backtest's alerts come from: alert files, read as a stream, or the audit store.

Files hold alerts in any format the adapters read (native, Darktrace in both shapes, Defender
alerts_v2, Sentinel): one JSON value per line (NDJSON), JSON values one after another, a JSON
array of them, or a Graph list (`{"value": [...]}`). A file is decoded value by value from a
bounded window, never read whole. A value that is not JSON, or not an alert, is reported as
`FILE:LINE: message` and the rest of the file is still read: decoding starts again on the next
line.

The audit store yields the alerts `alert_received` events kept (`riposte.audit.received`);
events written before alerts were kept are counted, not replayed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from riposte.adapters import parse_alert
from riposte.alerts import Alert
from riposte.audit.events import AuditFilter, AuditKind
from riposte.audit.received import alert_of
from riposte.audit.store import AuditStore
from riposte.errors import InvalidInput
from riposte.incidents.scope import SOURCE as INCIDENT_SOURCE

CHUNK = 1 << 16
MAX_VALUE = 8 << 20  # one JSON value larger than this is refused
PAGE = 5000
SUFFIXES = frozenset({".json", ".ndjson", ".jsonl"})
_SEPARATORS = " \t\r\n,[]"
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class BadInput:
    """One value that could not be read, where it was, and why."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Meter:
    """How much of the input files has been read, for a progress bar (characters ~ bytes)."""

    total: int = 0
    read: int = 0


@dataclass
class Tally:
    """What a source read besides alerts: the values it refused, the events it skipped."""

    bad: int = 0
    skipped: int = 0  # alert_received events that kept no alert


Item = Alert | BadInput


def values_of(
    stream: TextIO, meter: Meter | None = None
) -> Iterator[tuple[int, object] | tuple[int, json.JSONDecodeError]]:
    """Each top-level JSON value of `stream` with the line it starts on, or the error there.

    An error is reported at the line its value starts on; decoding resumes at the next line
    that opens a value (`{` or `[`), so one broken NDJSON line costs only that line. Array
    brackets and commas between top-level values are skipped, so a JSON array yields its
    elements.
    """
    buffer, pos, line, eof = "", 0, 1, False
    meter = meter or Meter()
    while True:
        while pos < len(buffer) and buffer[pos] in _SEPARATORS:
            if buffer[pos] == "\n":
                line += 1
            pos += 1
        if pos >= len(buffer):
            if eof:
                return
            buffer, pos, eof = _more(stream, buffer, pos, meter)
            continue
        try:
            value, end = _DECODER.raw_decode(buffer, pos)
        except json.JSONDecodeError as err:
            # A JSON token never holds a raw newline, so an error followed by one is certain;
            # one at the end of the window may only be a value cut by the window.
            certain = buffer.find("\n", err.pos) != -1 or eof
            if not certain and len(buffer) - pos < MAX_VALUE:
                buffer, pos, eof = _more(stream, buffer, pos, meter)
                continue
            yield line, err
            buffer, pos, skipped, eof = _resync(stream, buffer, pos, eof, meter)
            line += skipped
            continue
        if end == len(buffer) and not eof and not isinstance(value, dict | list | str):
            # A number or literal at the window's edge may go on in the next chunk.
            buffer, pos, eof = _more(stream, buffer, pos, meter)
            continue
        yield line, value
        line += buffer.count("\n", pos, end)
        pos = end


def _more(stream: TextIO, buffer: str, pos: int, meter: Meter) -> tuple[str, int, bool]:
    chunk = stream.read(CHUNK)
    meter.read += len(chunk)
    return buffer[pos:] + chunk, 0, not chunk


def _resync(
    stream: TextIO, buffer: str, pos: int, eof: bool, meter: Meter
) -> tuple[str, int, int, bool]:
    """Past a broken value: to the next line that opens a value ({ or [), counting lines."""
    skipped = 0
    while True:
        stop = buffer.find("\n", pos)
        if stop == -1:
            if eof:
                return "", 0, skipped, True
            chunk = stream.read(CHUNK)
            meter.read += len(chunk)
            buffer, pos, eof = chunk, 0, not chunk
            continue
        skipped += 1
        pos = stop + 1
        start = pos
        while start < len(buffer) and buffer[start] in " \t\r":
            start += 1
        if start == len(buffer) and not eof:
            buffer, pos, eof = _more(stream, buffer, pos, meter)
            continue
        if start < len(buffer) and buffer[start] in "{[":
            return buffer, pos, skipped, eof


def alerts_from_file(path: Path, fmt: str = "auto", meter: Meter | None = None) -> Iterator[Item]:
    """The alerts of one file, and a `BadInput` for each value that is not one."""
    try:
        stream = path.open(encoding="utf-8", errors="replace", newline="")
    except OSError as err:
        yield BadInput(str(path), 0, f"cannot read: {err.strerror or err}")
        return
    with stream:
        yield from alerts_of(str(path), stream, fmt, meter)


def alerts_of(
    name: str, stream: TextIO, fmt: str = "auto", meter: Meter | None = None
) -> Iterator[Item]:
    """The alerts of one stream (a file, an upload) named `name` in error reports."""
    for line, value in values_of(stream, meter):
        if isinstance(value, json.JSONDecodeError):
            yield BadInput(name, line, f"malformed JSON: {value.msg}")
            continue
        for body in _unwrapped(value):
            try:
                yield parse_alert(body, fmt)
            except InvalidInput as err:
                yield BadInput(name, line, f"not an alert: {err}")


def _unwrapped(value: object) -> list[object]:
    """A Graph list response's items; any other value as it is."""
    if isinstance(value, dict) and isinstance(value.get("value"), list) and "id" not in value:
        return list(value["value"])
    return [value]


def input_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, folders expanded to their *.json / *.ndjson / *.jsonl files."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()))
        else:
            found.append(path)
    return found


def alerts_from_files(
    paths: Iterable[Path], fmt: str = "auto", meter: Meter | None = None
) -> Iterator[Item]:
    """The alerts of every file named (folders expanded), in order."""
    for path in input_files(paths):
        yield from alerts_from_file(path, fmt, meter)


def alerts_from_store(store: AuditStore, since: datetime | None, tally: Tally) -> Iterator[Alert]:
    """The alerts the store's `alert_received` events kept, oldest first, page by page."""
    after = 0
    while True:
        page = store.query(
            AuditFilter(kind=AuditKind.ALERT_RECEIVED, since=since, after_seq=after, limit=PAGE)
        )
        for event in page:
            alert = alert_of(event.kind, event.detail)
            if alert is None:
                tally.skipped += 1
            elif alert.source != INCIDENT_SOURCE:  # an incident's own: the replay raises it
                yield alert
        if len(page) < PAGE:
            return
        after = page[-1].seq


def counted(
    items: Iterable[Item], tally: Tally, report: Callable[[BadInput], None]
) -> Iterator[Alert]:
    """The alerts of `items`; each bad value is counted and handed to `report`."""
    for item in items:
        if isinstance(item, BadInput):
            tally.bad += 1
            report(item)
        else:
            yield item
