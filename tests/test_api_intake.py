"""Alert intake over HTTP: every row of DESIGN.md's bad-input table, batches, and duplicates."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from riposte.api.tokens import Role
from riposte.audit.events import AuditFilter, AuditKind
from tests.plugins.api import ApiFactory, ApiHarness
from tests.responses import network_policy


def native(**fields: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "id": f"dt-{uuid.uuid4().hex[:10]}",
        "source": "darktrace",
        "name": "Device / Network Scan",
        "severity": "high",
        "score": 0.9,
        "time": "2023-02-14T22:41:00Z",
        "entities": {"ip": "10.8.0.25"},
    }
    alert.update(fields)
    return alert


async def started(api: ApiHarness) -> list[str]:
    """Ids of the responses the alert_received events say were started."""
    events = api.stack.store.query(AuditFilter(kind=AuditKind.ALERT_RECEIVED))
    return [e.response_id for e in events]


async def test_an_alert_is_accepted_with_its_response_id(make_api: ApiFactory) -> None:
    """A valid alert gets 202 with the response id (source:id) and duplicate false."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    alert = native()
    answer = await api.post_alert(alert)
    assert answer.status_code == 202
    assert answer.json() == {"response_id": f"darktrace:{alert['id']}", "duplicate": False}
    view = await api.wait_for(answer.json()["response_id"], lambda v: bool(v["actions"]))
    assert view["alert"]["entities"]["ip"] == "10.8.0.25"


async def test_the_same_alert_twice_gives_one_response(make_api: ApiFactory) -> None:
    """A repeat of an alert is 202 with duplicate true and the same response; nothing new starts."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    alert = native()
    first = await api.post_alert(alert)
    await api.wait_for(first.json()["response_id"], lambda v: bool(v["actions"]))
    again = await api.post_alert(alert)
    assert again.status_code == 202
    assert again.json() == {"response_id": first.json()["response_id"], "duplicate": True}
    assert await started(api) == [first.json()["response_id"]]


async def test_malformed_json_is_400_with_where_it_broke(make_api: ApiFactory) -> None:
    """Broken JSON answers 400 naming the line and column of the break, and starts nothing."""
    api = await make_api({})
    answer = await api.post_alert('{"id": "dt-1",\n  "source": }')
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "malformed_json",
        "message": "Expecting value",
        "location": "line 2, column 13",
        "line": 2,
        "column": 13,
    }
    assert await started(api) == []


async def test_malformed_json_in_a_decision_is_400_too(make_api: ApiFactory) -> None:
    """Every JSON body, not only alerts, answers a break with 400 and its line and column."""
    api = await make_api({})
    answer = await api.http.post(
        "/v1/approvals/darktrace:dt-1:a1/reject",
        content='{"reason":\n "no",}',
        headers={**api.auth(Role.APPROVER), "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert (answer.json()["error"], answer.json()["line"], answer.json()["column"]) == (
        "malformed_json",
        2,
        7,
    )


async def test_a_body_that_is_not_utf8_is_400(make_api: ApiFactory) -> None:
    """Bytes that are not UTF-8 are malformed too, with the place of the first bad byte."""
    api = await make_api({})
    answer = await api.post_alert(b'{"id": "\xff"}')
    assert answer.status_code == 400
    assert (answer.json()["line"], answer.json()["column"]) == (1, 9)


async def test_a_schema_violation_is_422_with_the_field_path(make_api: ApiFactory) -> None:
    """An alert that breaks the schema answers 422 naming the field, and starts nothing."""
    api = await make_api({})
    answer = await api.post_alert(native(score=1.5))
    assert answer.status_code == 422
    problem = answer.json()
    assert (problem["error"], problem["location"]) == ("invalid", "score")
    nested = await api.post_alert(native(entities={"messages": "not-a-list"}))
    assert nested.status_code == 422
    assert nested.json()["location"] == "entities.messages"
    assert await started(api) == []


async def test_an_unknown_format_is_refused_naming_the_supported_ones(
    make_api: ApiFactory,
) -> None:
    """A format no adapter reads, named or detected, is 422 with the list of supported formats."""
    api = await make_api({})
    named = await api.post_alert(native(), format="splunk")
    assert named.status_code == 422
    assert named.json()["error"] == "unknown_format"
    assert named.json()["supported"] == ["auto", "native", "darktrace", "defender", "sentinel"]
    shapeless = await api.post_alert({"hello": "world"})
    assert shapeless.status_code == 422
    assert shapeless.json()["error"] == "unknown_format"
    assert "native" in shapeless.json()["supported"]


async def test_a_body_over_the_limit_is_413_declared_or_streamed(make_api: ApiFactory) -> None:
    """A body over max_body_bytes is 413 whether its length is declared or it is streamed."""
    api = await make_api({}, max_body_bytes=2048)
    big = json.dumps(native(name="x" * 4000)).encode()
    declared = await api.post_alert(big)
    assert declared.status_code == 413
    assert declared.json()["error"] == "too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 512):
            yield big[start : start + 512]

    streamed = await api.http.post(
        "/v1/alerts", content=chunks(), headers={**api.auth(Role.SENDER)}
    )
    assert streamed.status_code == 413
    small = await api.post_alert(native())
    assert small.status_code == 202


async def test_an_alert_without_the_entity_a_policy_needs_is_audited_as_no_match(
    make_api: ApiFactory,
) -> None:
    """An alert lacking the policy's required entity is accepted, and the audit says why it
    matched nothing."""
    api = await make_api({"network-lateral-movement": network_policy("autonomous")})
    answer = await api.post_alert(native(entities={"device": "vpn-remote-user"}))
    assert answer.status_code == 202
    response_id = answer.json()["response_id"]
    view = await api.wait_for(response_id, lambda v: bool(v["no_match_reason"]))
    assert view["actions"] == []
    [no_match] = api.stack.audit(response_id, AuditKind.NO_MATCH)
    assert "ip" in no_match.detail


async def test_a_json_array_is_a_batch_answered_per_item(make_api: ApiFactory) -> None:
    """An array of alerts gets one answer per item: good ones 202, a bad one its own 422, and a
    repeat within the batch joins the first; the batch as a whole is 207."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    good, repeat = native(), native()
    answer = await api.post_alert([good, native(severity="urgent"), repeat, repeat])
    assert answer.status_code == 207
    batch = answer.json()
    assert (batch["accepted"], batch["duplicates"], batch["refused"]) == (3, 1, 1)
    items = batch["items"]
    assert [i["status"] for i in items] == [202, 422, 202, 202]
    assert items[0]["response_id"] == f"darktrace:{good['id']}"
    assert items[1]["error"]["location"] == "severity"
    assert (items[2]["duplicate"], items[3]["duplicate"]) == (False, True)
    assert items[2]["response_id"] == items[3]["response_id"]
    for response_id in (items[0]["response_id"], items[2]["response_id"]):
        await api.wait_for(response_id, lambda v: bool(v["actions"]))
    assert sorted(await started(api)) == sorted(
        [f"darktrace:{good['id']}", f"darktrace:{repeat['id']}"]
    )


async def test_ndjson_is_a_batch_whose_bad_lines_are_named(make_api: ApiFactory) -> None:
    """NDJSON gives one answer per line; a broken line is 400 with its line number, and the
    others still start."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    first, last = native(), native()
    body = f"{json.dumps(first)}\n\n{{broken\n{json.dumps(last)}\n"
    answer = await api.http.post(
        "/v1/alerts",
        content=body,
        headers={**api.auth(Role.SENDER), "Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 207
    items = answer.json()["items"]
    assert [(i["line"], i["status"]) for i in items] == [(1, 202), (3, 400), (4, 202)]
    assert items[1]["error"]["error"] == "malformed_json"
    assert items[1]["error"]["line"] == 3
    assert items[2]["response_id"] == f"darktrace:{last['id']}"


async def test_an_all_good_batch_is_202(make_api: ApiFactory) -> None:
    """A batch whose every item is accepted answers 202."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    answer = await api.post_alert([native(), native()])
    assert answer.status_code == 202
    assert answer.json()["accepted"] == 2


async def test_an_empty_batch_is_422(make_api: ApiFactory) -> None:
    """An empty array holds no alert to answer for: 422 at `body`."""
    api = await make_api({})
    answer = await api.post_alert([])
    assert (answer.status_code, answer.json()["location"]) == (422, "body")


async def test_intake_is_counted_in_the_metrics(make_api: ApiFactory) -> None:
    """Accepted, duplicate and refused alerts each move their counter."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    alert = native()
    await api.post_alert(alert)
    await api.post_alert(alert)
    await api.post_alert("{")
    text = (await api.http.get("/metrics")).text
    assert 'riposte_alerts_received_total{source="darktrace"} 1.0' in text
    assert 'riposte_alerts_duplicate_total{source="darktrace"} 1.0' in text
    assert 'riposte_alerts_refused_total{reason="malformed_json"} 1.0' in text
