"""The console's backtest page in real headless Chromium: an admin uploads alerts, reads it."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from riposte.api.server import listening
from riposte.api.tokens import Role
from tests.plugins.api import ApiFactory
from tests.test_console import ARTIFACTS, browser, sign_in

__all__ = ["browser"]  # the fixture, shared with the console's own tests

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
DEMO = ROOT / "riposte" / "demo_alerts.json"


async def test_an_admin_uploads_alert_files_and_reads_the_report(
    make_api: ApiFactory, browser: Browser, tmp_path: Path
) -> None:
    """From the nav link, an uploaded file and a policy folder to compare give the report and
    the changed alerts; a screenshot is saved for a person to look at."""
    api = await make_api({p.stem: p.read_text() for p in POLICIES.glob("*.yaml")})
    older = tmp_path / "older"
    older.mkdir()
    for policy in POLICIES.glob("*.yaml"):
        text = policy.read_text()
        (older / policy.name).write_text(
            text.replace('severity: ">= high"', 'severity: ">= critical"')
        )
    async with listening(api.app, "127.0.0.1", 0) as base:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await sign_in(page, base, api.token[Role.ADMIN])
        await page.click("nav a[href='/backtest']")
        await expect(page).to_have_url(f"{base}/backtest")
        await page.set_input_files("input[name=files]", str(DEMO))
        await page.fill("input[name=against]", str(older))
        await page.click("button[type=submit].primary")
        await expect(page.locator(".summary")).to_contain_text("7 alerts replayed")
        table = page.locator("table.backtest")
        await expect(table).to_contain_text("network-lateral-movement")
        await expect(table).to_contain_text("block_ports 2")
        changed = page.locator("table.changed")
        await expect(changed).to_contain_text("darktrace:dt-30960")
        await expect(changed).to_contain_text("new match")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console-backtest.png"), full_page=True)
        await page.close()
