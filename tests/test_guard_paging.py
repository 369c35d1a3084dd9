"""Pending approvals page past any cap, and audit exports stream a chunk at a time."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from riposte.api.tokens import Role
from riposte.audit.events import AuditEvent, AuditFilter
from riposte.audit.export import ExportFormat, events_of, render, stream
from riposte.audit.sqlite import SqliteStore
from riposte.cli import run
from tests.plugins.api import ApiFactory
from tests.plugins.audit import records
from tests.responses import network_policy, scan_alert


async def test_pending_approvals_page_through_every_response(make_api: ApiFactory) -> None:
    """GET /v1/approvals pages by `limit` responses with an X-Next-Page token until every
    pending action is listed once, and the service's full listing has no cap."""
    api = await make_api({"network-lateral-movement": network_policy("human-confirm")})
    ids = set()
    for n in range(5):
        answer = await api.post_alert(scan_alert(ip=f"10.8.0.{30 + n}").model_dump(mode="json"))
        ids.add(answer.json()["response_id"])
    for rid in ids:
        await api.wait_for(
            rid, lambda v: any(a["state"] == "pending_approval" for a in v["actions"])
        )
    seen: list[str] = []
    pages = 0
    params: dict[str, str] = {"status": "pending", "limit": "2"}
    while True:
        answer = await api.http.get("/v1/approvals", params=params, headers=api.auth(Role.APPROVER))
        assert answer.status_code == 200
        pages += 1
        seen.extend(r["action"]["action_id"] for r in answer.json())
        following = answer.headers.get("x-next-page")
        if following is None:
            break
        assert 'rel="next"' in answer.headers["link"]
        params["page"] = following
    assert pages >= 3
    assert len(seen) == len(set(seen)) == 10  # two actions each
    everything = await api.stack.service.pending_approvals()
    assert {r.action.action_id for r in everything} == set(seen)
    forged = await api.http.get(
        "/v1/approvals", params={"page": "!!"}, headers=api.auth(Role.APPROVER)
    )
    assert forged.status_code == 422 and forged.json()["location"] == "page"


def _filled(path: Path, count: int) -> SqliteStore:
    store = SqliteStore(path)
    for start in range(0, count, 500):
        store.append(records(500, start))
    return store


def test_an_export_streams_in_chunks_and_reads_like_the_whole(tmp_path: Path) -> None:
    """Streamed JSON and CSV equal the whole-file renderings, while the store is read one
    chunk at a time."""
    store = _filled(tmp_path / "audit.db", 2500)
    reads: list[int] = []
    query = store.query

    def counted(f: AuditFilter) -> list[AuditEvent]:
        found = query(f)
        reads.append(len(found))
        return found

    store.query = counted  # type: ignore[method-assign]  # count the reads, nothing else
    pieces = list(stream(events_of(store, AuditFilter(), chunk=1000), ExportFormat.CSV))
    assert reads == [1000, 1000, 500]
    everything = query(AuditFilter())
    assert "".join(pieces) == render(everything, ExportFormat.CSV)
    streamed = "".join(stream(events_of(store, AuditFilter(limit=1200)), ExportFormat.JSON))
    assert json.loads(streamed) == json.loads(render(everything[:1200], ExportFormat.JSON))
    store.close()


async def test_the_console_export_streams_every_event(make_api: ApiFactory) -> None:
    """The console's CSV export holds every matching event, past any former cap."""
    api = await make_api({})
    for start in range(0, 3000, 500):
        api.stack.store.append(records(500, start))
    await api.http.post("/login", data={"token": api.token[Role.AUDITOR], "next": "/audit"})
    exported = await api.http.get("/audit/export", params={"format": "csv"})
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert len(rows) == 3001 and rows[0][0] == "seq"


async def test_get_audit_streams_every_event_unless_a_page_is_asked_for(
    make_api: ApiFactory,
) -> None:
    """GET /v1/audit without `limit` answers every matching event, past any page size, as JSON
    and as CSV; with `limit`, one page and the next page's after_seq."""
    api = await make_api({})
    for start in range(0, 2500, 500):
        api.stack.store.append(records(500, start))
    total = len(api.stack.store.query(AuditFilter()))
    auditor = api.auth(Role.AUDITOR)
    whole = await api.http.get("/v1/audit", headers=auditor)
    assert whole.status_code == 200 and whole.headers["content-type"] == "application/json"
    body = whole.json()
    assert len(body["events"]) == total >= 2500 and body["next_after_seq"] is None
    assert [e["seq"] for e in body["events"]] == list(range(1, total + 1))
    rows = list(
        csv.reader(
            io.StringIO(
                (await api.http.get("/v1/audit", params={"format": "csv"}, headers=auditor)).text
            )
        )
    )
    assert len(rows) == total + 1 and rows[0][0] == "seq"
    paged = (await api.http.get("/v1/audit", params={"limit": 10}, headers=auditor)).json()
    assert len(paged["events"]) == 10 and paged["next_after_seq"] == 10


def test_the_audit_cli_streams_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`riposte audit --format json` prints every event as one JSON array."""
    _filled(tmp_path / "audit.db", 2500).close()
    assert run(["audit", "--format", "json", "--data-dir", str(tmp_path)]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [e["seq"] for e in events] == list(range(1, 2501))
