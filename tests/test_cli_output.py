"""Human CLI output escapes control characters: a hostile alert name cannot drive the terminal."""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.client import Client

from riposte.cli import run
from riposte.cli.terminal import printable
from tests.plugins.api import ApiFactory
from tests.responses import network_policy
from tests.test_api_intake import native

HOSTILE = "Device / Network Scan\x1b[2J\x1b]0;owned\x07\u202e"


def test_printable_makes_every_control_character_visible() -> None:
    """C0 and C1 controls, DEL and bidi overrides become visible escapes; newline and tab stay."""
    assert printable("a\x1b[2Jb\x07\x7f\x9b\u202e\n\tz") == "a\\x1b[2Jb\\x07\\x7f\\x9b\\u202e\n\tz"


async def test_show_and_responses_escape_a_hostile_alert_name(
    make_api: ApiFactory,
    temporal_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`riposte show` and `riposte responses` print ESC sequences and OSC titles escaped, while
    `--format json` still carries the name exactly."""
    api = await make_api({"network-lateral-movement": network_policy("passive")})
    answer = await api.post_alert(native(name=HOSTILE))
    assert answer.status_code == 202
    rid = answer.json()["response_id"]
    await api.wait_for(rid, lambda v: v["status"] == "completed")
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_client.service_client.config.target_host)
    capsys.readouterr()
    for argv in (["show", rid], ["responses"]):
        assert await asyncio.to_thread(run, argv) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
        if argv[0] == "show":
            assert "\\x1b[2J\\x1b]0;owned\\x07\\u202e" in out
    assert await asyncio.to_thread(run, ["show", rid, "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{\n") :])["alert"]["name"] == HOSTILE
