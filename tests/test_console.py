"""The web console in real headless Chromium, served by the real app over the real stack."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from riposte.api.server import listening
from riposte.api.tokens import Role
from riposte.audit.events import AuditKind
from tenant_emulator.client import EmulatorSeam
from tests.eventually import eventually
from tests.plugins.api import ApiFactory, ApiHarness
from tests.responses import VPN_IP, network_policy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
HAVE_CHROMIUM = Path(CHROMIUM).exists()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


def scan(**fields: Any) -> dict[str, Any]:
    return {
        "id": f"dt-{uuid.uuid4().hex[:10]}",
        "source": "darktrace",
        "name": "Device / Suspicious SMB Scanning Activity",
        "severity": "high",
        "score": 0.88,
        "time": "2023-02-14T22:41:00Z",
        "entities": {"ip": VPN_IP, "device": "vpn-remote-user"},
        **fields,
    }


async def pending_scan(api: ApiHarness, base: str) -> str:
    """Post a scan alert over real HTTP and wait until both its actions ask for approval."""
    async with httpx.AsyncClient(base_url=base) as http:
        answer = await http.post("/v1/alerts", json=scan(), headers=api.auth(Role.SENDER))
    assert answer.status_code == 202
    response_id: str = answer.json()["response_id"]
    await api.wait_for(
        response_id,
        lambda v: (
            len(v["actions"]) == 2 and all(a["state"] == "pending_approval" for a in v["actions"])
        ),
    )
    return response_id


async def sign_in(page: Page, base: str, token: str) -> None:
    await page.goto(f"{base}/")
    await expect(page).to_have_url(f"{base}/login")
    await page.fill("#token", token)
    await page.click("button[type=submit]")


async def test_an_approver_approves_a_pending_block_and_sees_it_executed(
    make_api: ApiFactory, browser: Browser, emulator_seam: EmulatorSeam
) -> None:
    """An approver signs in, sees the pending block with its alert, policy, exact change and
    the response's other action, approves it, and the timeline and the emulator's NSG both
    show it executed; screenshots are saved for a person to look at."""
    api = await make_api({"network-lateral-movement": network_policy("human-confirm")})
    async with listening(api.app, "127.0.0.1", 0) as base:
        response_id = await pending_scan(api, base)
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await sign_in(page, base, api.token[Role.APPROVER])
        await expect(page).to_have_url(f"{base}/approvals")
        await expect(page.locator(".who .name")).to_have_text(api.name(Role.APPROVER))

        card = page.locator(f"article.approval[data-action-id='{response_id}:a1']")
        await expect(card).to_be_visible()
        await expect(card.locator("h2")).to_contain_text("block_ports")
        await expect(card.locator("h2")).to_contain_text(VPN_IP)
        await expect(card).to_contain_text("Device / Suspicious SMB Scanning Activity")
        await expect(card).to_contain_text("network-lateral-movement")
        await expect(card.locator(".change")).to_contain_text("445")
        await expect(card.locator(".change .calls")).to_contain_text("PUT ")
        await expect(card.locator(".change .calls")).to_contain_text("nsg-servers")
        await expect(card.locator("table.compact")).to_contain_text("block_outbound")
        await expect(card.locator("table.compact")).to_contain_text("pending approval")
        hash_text = await card.locator("code.hash").get_attribute("title")
        assert hash_text is not None and len(hash_text) == 64
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console-approvals.png"), full_page=True)

        await card.locator("input[name=comment]").fill("scan confirmed by the VPN team")
        await card.locator("button.approve").click()
        await expect(page.locator(".notice")).to_have_text("Action approved.")
        row = page.locator(f"tr[data-action-id='{response_id}:a1']")

        async def state_after_reload() -> str:
            await page.reload()
            return await row.locator(".state").inner_text()

        await eventually(
            state_after_reload,
            until=lambda s: s == "executed",
            within=20,
            every=0.2,
            what="executed",
        )
        await expect(row.locator(".state")).to_have_text("executed")
        await expect(row).to_contain_text(api.name(Role.APPROVER))
        await expect(row.locator("time")).to_have_count(1)  # its revert time
        await expect(page.locator(".timeline")).to_contain_text("approved")
        await expect(page.locator(".timeline")).to_contain_text("executed")
        await page.screenshot(path=str(ARTIFACTS / "console-timeline.png"), full_page=True)
        await page.close()

    rules = emulator_seam.state()["nsgs"]["nsg-servers"]["security_rules"]
    blocks = [r for r in rules if VPN_IP in json.dumps(r) and "Deny" in json.dumps(r)]
    assert len(blocks) == 1
    assert "445" in json.dumps(blocks[0]) and "9401" in json.dumps(blocks[0])
    [approved] = api.stack.audit(response_id, AuditKind.APPROVED)
    assert (approved.actor, approved.detail) == (
        api.name(Role.APPROVER),
        "scan confirmed by the VPN team",
    )


async def test_a_rejection_needs_a_reason(make_api: ApiFactory, browser: Browser) -> None:
    """Reject with an empty reason does nothing; with a reason, the action is rejected and the
    timeline says so."""
    api = await make_api({"network-lateral-movement": network_policy("human-confirm")})
    async with listening(api.app, "127.0.0.1", 0) as base:
        response_id = await pending_scan(api, base)
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await sign_in(page, base, api.token[Role.ADMIN])
        card = page.locator(f"article.approval[data-action-id='{response_id}:a2']")
        await card.locator("button.reject").click()
        await expect(page).to_have_url(f"{base}/approvals")  # the browser would not submit
        assert api.stack.audit(response_id, AuditKind.REJECTED) == []
        await card.locator("input[name=reason]").fill("the device is a pentest box")
        await card.locator("button.reject").click()
        row = page.locator(f"tr[data-action-id='{response_id}:a2']")
        await expect(row.locator(".state")).to_have_text("rejected")
        await page.close()
    [rejected] = api.stack.audit(response_id, AuditKind.REJECTED)
    assert (rejected.actor, rejected.detail) == (
        api.name(Role.ADMIN),
        "the device is a pentest box",
    )


async def test_a_bad_token_is_refused_and_audited(make_api: ApiFactory, browser: Browser) -> None:
    """Signing in with an unknown token shows an error, sets no session, and is audited."""
    api = await make_api({})
    async with listening(api.app, "127.0.0.1", 0) as base:
        page = await browser.new_page()
        await sign_in(page, base, "rpt_guessed")
        await expect(page.locator("p.error")).to_have_text("That token is not valid.")
        assert await page.context.cookies() == []
        await page.goto(f"{base}/approvals")
        await expect(page).to_have_url(f"{base}/login?next=/approvals")
        await page.close()
    [denied] = api.denied()
    assert denied.actor == "anonymous" and "/login" in denied.detail


async def test_an_auditor_searches_and_exports_the_audit(
    make_api: ApiFactory, browser: Browser
) -> None:
    """An auditor filters the audit by response and kind, and exports the same events as CSV;
    approvals are not theirs to see."""
    api = await make_api({"network-lateral-movement": network_policy("human-confirm")})
    async with listening(api.app, "127.0.0.1", 0) as base:
        response_id = await pending_scan(api, base)
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await sign_in(page, base, api.token[Role.AUDITOR])
        await expect(page).to_have_url(f"{base}/responses")
        await expect(page.locator("nav")).not_to_contain_text("Approvals")
        await page.goto(f"{base}/audit")
        await page.fill("input[name=response_id]", response_id)
        await page.select_option("select[name=kind]", "approval_requested")
        await page.click(".filters button[type=submit]")
        rows = page.locator("table.audit tbody tr")
        await expect(rows).to_have_count(2)
        await expect(rows.first).to_contain_text("approval requested")
        async with page.expect_download() as download_info:
            await page.click("a:has-text('CSV')")
        download = await download_info.value
        saved = ARTIFACTS / "audit-export.csv"
        ARTIFACTS.mkdir(exist_ok=True)
        await download.save_as(saved)
        lines = saved.read_text().splitlines()
        assert lines[0].startswith("seq,id,time")
        assert len(lines) == 3 and all(response_id in line for line in lines[1:])
        json_link = await page.locator("a:has-text('JSON')").get_attribute("href")
        assert json_link is not None
        exported = await page.request.get(f"{base}{json_link}")  # with the session cookie
        events = json.loads(await exported.text())
        assert [e["seq"] for e in events] == [int(line.split(",")[0]) for line in lines[1:]]
        assert {e["kind"] for e in events} == {"approval_requested"}
        await page.screenshot(path=str(ARTIFACTS / "console-audit.png"), full_page=True)
        forbidden = await page.goto(f"{base}/approvals")
        assert forbidden is not None and forbidden.status == 403
        await page.close()
    assert [e.actor for e in api.denied()] == [api.name(Role.AUDITOR)]
