"""POST /v1/policies/backtest and the console's backtest page, through a real ASGI client."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from riposte.api.tokens import Role
from riposte.console.session import COOKIE
from tests.plugins.api import ApiFactory, ApiHarness

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
DEMO = ROOT / "riposte" / "demo_alerts.json"


async def shipped(make_api: ApiFactory) -> ApiHarness:
    return await make_api({p.stem: p.read_text() for p in POLICIES.glob("*.yaml")})


async def test_an_admin_backtests_posted_alerts_and_hears_of_bad_ones(
    make_api: ApiFactory,
) -> None:
    """Posted bodies replay through the policies on disk; a body that is no alert is listed."""
    api = await shipped(make_api)
    bodies: list[Any] = [*json.loads(DEMO.read_text()), {"hello": "world"}]
    answer = await api.http.post(
        "/v1/policies/backtest", json={"alerts": bodies}, headers=api.auth(Role.ADMIN)
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["alerts"] == 7 and "changed" not in report
    assert report["policies"]["network-lateral-movement"]["targets"] == ["10.8.0.25"]
    [problem] = report["problems"]
    assert problem.startswith("alerts:7: not an alert")


async def test_only_admins_may_backtest(make_api: ApiFactory) -> None:
    """An approver's token gets 403, and the refusal is audited."""
    api = await shipped(make_api)
    answer = await api.http.post(
        "/v1/policies/backtest", json={"alerts": []}, headers=api.auth(Role.APPROVER)
    )
    assert answer.status_code == 403
    assert api.denied()


async def test_a_server_folder_against_another_policy_folder_lists_changes(
    make_api: ApiFactory, tmp_path: Path
) -> None:
    """`alerts_dir` and `against` name server folders; the changed alerts come back."""
    api = await shipped(make_api)
    folder = tmp_path / "alerts"
    folder.mkdir()
    shutil.copy(DEMO, folder / "demo.json")
    older = tmp_path / "older"
    shutil.copytree(POLICIES, older)
    path = older / "network-lateral-movement.yaml"
    path.write_text(path.read_text().replace("mode: autonomous", "mode: passive"))
    answer = await api.http.post(
        "/v1/policies/backtest",
        json={"alerts_dir": str(folder), "against": str(older)},
        headers=api.auth(Role.ADMIN),
    )
    assert answer.status_code == 200, answer.text
    changed = answer.json()["changed"]
    assert [c["alert"] for c in changed] == [
        "darktrace:dt-41201",
        "darktrace:dt-41202",
        "darktrace:dt-41203",
    ]
    assert {c["changes"][0]["reason"] for c in changed} == {"mode passive -> autonomous"}


async def test_the_console_page_reports_uploaded_files(make_api: ApiFactory) -> None:
    """An admin signed in to the console uploads an alert file and sees the per-policy report."""
    api = await shipped(make_api)
    api.http.cookies.set(COOKIE, api.token[Role.ADMIN])
    shown = await api.http.get("/backtest")
    assert shown.status_code == 200 and 'enctype="multipart/form-data"' in shown.text
    answer = await api.http.post(
        "/backtest",
        files={"files": ("demo.json", DEMO.read_bytes(), "application/json")},
        data={"alerts_dir": "", "since": "", "against": ""},
    )
    assert answer.status_code == 200, answer.text
    assert "7 alerts replayed" in answer.text
    assert "m365-account-takeover" in answer.text and "<code>10.8.0.25</code>" in answer.text
    api.http.cookies.set(COOKIE, api.token[Role.AUDITOR])
    assert (await api.http.get("/backtest")).status_code == 403
