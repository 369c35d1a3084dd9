"""Hostile alerts over HTTP: DESIGN.md's answers for caps, id charset, nesting and huge text."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

from riposte.adapters import darktrace
from riposte.alerts import AlertCaps
from riposte.api.tokens import Role
from riposte.policy.patterns import display_name
from tests.plugins.api import ApiFactory
from tests.responses import network_policy
from tests.test_api_intake import native, started


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"id": "x" * 257}, "id"),
        ({"name": "n" * 513}, "name"),
        ({"entities": {"user": "u" * 320 + "@contoso.com"}}, "entities.user"),
        ({"entities": {"device": "d" * 257}}, "entities.device"),
        ({"entities": {"messages": ["<ok@x>", "m" * 999]}}, "entities.messages[1]"),
        ({"entities": {"inbox_rules": ["r"] * 1001}}, "entities.inbox_rules"),
    ],
)
async def test_a_field_past_its_cap_is_422_naming_it(
    make_api: ApiFactory, fields: dict[str, Any], location: str
) -> None:
    """Each alert field has a length cap; past it the answer is 422 naming that field."""
    api = await make_api({})
    answer = await api.post_alert(native(**fields))
    assert (answer.status_code, answer.json()["location"]) == (422, location)
    assert await started(api) == []


async def test_the_caps_are_settings(make_api: ApiFactory) -> None:
    """A cap set in the settings is the one enforced."""
    api = await make_api({}, alert_caps=AlertCaps(name=10))
    answer = await api.post_alert(native(name="Device / Network Scan"))
    assert (answer.status_code, answer.json()["location"]) == (422, "name")
    assert "10 characters" in answer.json()["message"]


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"id": "q/../darktrace:victim-2"}, "id"),
        ({"id": "a b"}, "id"),
        ({"id": "x\x1b[2J"}, "id"),
        ({"id": "x%2Fy"}, "id"),
        ({"source": "dark/trace"}, "source"),
        ({"source": "darktrace?x=1"}, "source"),
    ],
)
async def test_ids_and_sources_outside_the_charset_are_422(
    make_api: ApiFactory, fields: dict[str, Any], location: str
) -> None:
    """An alert id or source with a character outside [A-Za-z0-9._:@-] is 422 naming it."""
    api = await make_api({})
    answer = await api.post_alert(native(**fields))
    assert (answer.status_code, answer.json()["location"]) == (422, location)


async def test_half_a_million_brackets_is_400_not_500(make_api: ApiFactory) -> None:
    """`[` x 500,000 is malformed JSON past the parser's depth: 400, and nothing starts."""
    api = await make_api({})
    answer = await api.post_alert("[" * 500_000)
    assert (answer.status_code, answer.json()["error"]) == (400, "malformed_json")
    assert await started(api) == []


async def test_raw_nested_700_deep_is_422_at_raw(make_api: ApiFactory) -> None:
    """A `raw` object nested 700 deep is refused with 422 at `raw`, never 500."""
    api = await make_api({})
    answer = await api.post_alert(native(raw=nested(700)))
    assert answer.status_code == 422
    assert answer.json()["location"].startswith("raw")


async def test_a_too_deep_item_in_a_batch_refuses_only_itself(make_api: ApiFactory) -> None:
    """In a batch, the item nested too deep gets its own 422 and the others are accepted."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    good = native()
    answer = await api.post_alert([good, native(raw=nested(700)), native(id="a/b")])
    assert answer.status_code == 207
    assert [i["status"] for i in answer.json()["items"]] == [202, 422, 422]
    assert await started(api) in ([], [f"darktrace:{good['id']}"])  # started, maybe not yet


async def test_an_ndjson_line_too_deep_for_the_parser_is_400_for_that_line(
    make_api: ApiFactory,
) -> None:
    """An NDJSON line past the parser's depth is answered 400 on its line; the rest go on."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    body = f"{json.dumps(native())}\n{'[' * 100_000}\n"
    answer = await api.http.post(
        "/v1/alerts",
        content=body,
        headers={**api.auth(Role.SENDER), "Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 207
    assert [(i["line"], i["status"]) for i in answer.json()["items"]] == [(1, 202), (2, 400)]


async def test_a_saas_hostname_of_thirty_thousand_ats_is_422_at_once(
    make_api: ApiFactory,
) -> None:
    """The Darktrace breach whose hostname is `SaaS::x:` + 30,000 `@` is refused 422 (the
    device cap), after linear parsing."""
    api = await make_api({})
    breach = {
        "pbid": 7,
        "score": 0.9,
        "time": 1_600_000_000_000,
        "model": {"then": {"name": "SaaS::Compromise::X"}},
        "device": {"hostname": "SaaS::x:" + "@" * 30_000 + " !"},
    }
    answer = await api.post_alert(breach)
    assert (answer.status_code, answer.json()["location"]) == (422, "entities.device")


def test_the_name_normaliser_and_saas_reader_are_linear() -> None:
    """32k spaces and 30k `@` (quadratic before: 4.2 s and 8.2 s) take well under a second;
    the bound is a regression guard, not a timing target."""
    begin = time.perf_counter()
    assert display_name(" " * 32_000 + "x" + " " * 32_000 + "::") == "x / "
    darktrace_user = darktrace._saas_user("SaaS::x:" + "@" * 30_000 + " !")
    assert time.perf_counter() - begin < 0.5
    assert darktrace_user is None
    assert darktrace._saas_user("SaaS::Office365: ben@contoso.com ") == "ben@contoso.com"


async def test_distinct_sources_add_a_bounded_number_of_metric_series(
    make_api: ApiFactory,
) -> None:
    """Past `metric_sources` distinct sources, intake counts under source="other", so a sender
    inventing sources cannot grow the metrics without bound."""
    api = await make_api({}, metric_sources=3)
    batch = [native(source=f"src{n}") for n in range(8)]
    answer = await api.post_alert(batch)
    assert answer.status_code == 202
    text = (await api.http.get("/metrics")).text
    series = [
        line for line in text.splitlines() if line.startswith("riposte_alerts_received_total")
    ]
    assert len(series) == 4
    assert 'riposte_alerts_received_total{source="other"} 5.0' in series


async def test_healthz_answers_while_an_alert_is_being_parsed(
    make_api: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing runs off the event loop: while one POST is held inside the parser, /healthz and
    other requests are still answered. (If the parser ran on the loop, the held POST would
    stall them all and this test would time out.)"""
    from riposte.api.routes import alerts

    api = await make_api({})
    inside, release = threading.Event(), threading.Event()
    real = alerts._parse

    def held(*args: Any) -> Any:
        inside.set()
        assert release.wait(30), "never released"
        return real(*args)

    monkeypatch.setattr(alerts, "_parse", held)
    posting = asyncio.create_task(api.post_alert(native(name="x" * 400)))
    assert await asyncio.to_thread(inside.wait, 10), "the POST never reached the parser"
    health = await asyncio.wait_for(api.http.get("/healthz"), 5)
    assert health.status_code == 200 and not posting.done()
    release.set()
    assert (await asyncio.wait_for(posting, 30)).status_code == 202
