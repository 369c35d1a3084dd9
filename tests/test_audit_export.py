"""Exports an auditor takes away: JSON, CSV and the terminal table."""

from __future__ import annotations

import csv
import io
import json

from riposte.audit.events import AuditEvent, AuditFilter
from riposte.audit.export import FIELDS, ExportFormat, render, to_csv, to_json, to_table
from riposte.audit.store import AuditStore
from tests.plugins.audit import record, records


def test_json_export_is_an_array_of_complete_events(audit_store: AuditStore) -> None:
    """The JSON export lists every event with every field, and reads back to the same events."""
    events = audit_store.append(records(3))
    parsed = json.loads(to_json(events))
    assert [list(item) for item in parsed] == [list(FIELDS)] * 3
    assert [AuditEvent.model_validate(item) for item in parsed] == events
    assert parsed[0]["time"] == "2021-06-09T09:00:00Z"


def test_csv_export_has_a_header_and_one_row_per_event(audit_store: AuditStore) -> None:
    """The CSV export starts with the field names, then one row per event with its values."""
    events = audit_store.append(records(4))
    rows = list(csv.reader(io.StringIO(to_csv(events))))
    assert rows[0] == list(FIELDS)
    assert len(rows) == 5
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["seq"] == "1"
    assert first["id"] == events[0].id
    assert first["hash"] == events[0].hash
    assert first["target"] == "ben@contoso.com"
    assert first["kind"] == "simulated"


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(audit_store: AuditStore) -> None:
    """A value starting with '=' (attacker text) is exported with a leading quote."""
    audit_store.append([record(0, detail='=HYPERLINK("http://evil")', target="@sum")])
    (row,) = list(csv.DictReader(io.StringIO(to_csv(audit_store.query(AuditFilter())))))
    assert row["detail"] == '\'=HYPERLINK("http://evil")'
    assert row["target"] == "'@sum"


def test_the_table_escapes_terminal_control_characters(audit_store: AuditStore) -> None:
    """An escape sequence in event text is shown escaped, never sent to the terminal."""
    audit_store.append([record(0, detail="rule \x1b[2Jcleared")])
    table = to_table(audit_store.query(AuditFilter()))
    assert "\x1b" not in table
    assert "\\x1b[2Jcleared" in table


def test_the_table_has_a_header_and_a_line_per_event(audit_store: AuditStore) -> None:
    """The table shows a header, then one line per event with its seq, kind and target."""
    audit_store.append(records(2))
    lines = render(audit_store.query(AuditFilter()), ExportFormat.TABLE).splitlines()
    assert lines[0].split()[:4] == ["SEQ", "TIME", "KIND", "ACTOR"]
    assert len(lines) == 3
    assert lines[1].split()[:5] == ["1", "2021-06-09", "09:00:00Z", "simulated", "engine"]
    assert "ben@contoso.com" in lines[1]


def test_an_empty_table_says_so() -> None:
    """With no events the table says there are none instead of printing a bare header."""
    assert to_table([]) == "no audit events\n"
