"""An id can never re-aim a console button at another action, in real headless Chromium.

The decoy is an alert whose id is `q/../darktrace:victim-2`. Intake refuses such ids (422), so
it is started the other way DESIGN.md allows, through Temporal directly, as an older response
or another integration could have left it. Its buttons must act on it, never on the victim.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
from playwright.async_api import Browser, expect

from riposte.alerts import Alert
from riposte.api.server import listening
from riposte.api.tokens import Role
from riposte.audit.events import AuditKind
from tests.plugins.api import ApiFactory, ApiHarness
from tests.responses import network_policy
from tests.test_console import browser, scan, sign_in

__all__ = ["browser"]  # the fixture, shared with test_console

DECOY_ID = "q/../darktrace:victim-2"


def both_pending(view: dict[str, object]) -> bool:
    actions = view["actions"]
    assert isinstance(actions, list)
    return len(actions) == 2 and all(a["state"] == "pending_approval" for a in actions)


async def decoy_and_victim(api: ApiHarness, base: str) -> tuple[str, str]:
    """The victim posted over HTTP, the decoy started through Temporal; both pending."""
    async with httpx.AsyncClient(base_url=base) as http:
        answer = await http.post(
            "/v1/alerts", json=scan(id="victim-2"), headers=api.auth(Role.SENDER)
        )
        refused = await http.post(
            "/v1/alerts", json=scan(id=DECOY_ID), headers=api.auth(Role.SENDER)
        )
    assert (answer.status_code, refused.status_code) == (202, 422)
    decoy = await api.stack.service.submit(Alert.model_validate(scan(id=DECOY_ID)))
    victim = answer.json()["response_id"]
    assert (victim, decoy.response_id) == ("darktrace:victim-2", f"darktrace:{DECOY_ID}")
    for response_id in (victim, decoy.response_id):
        await api.wait_for(response_id, both_pending)
    return victim, decoy.response_id


async def test_reject_and_release_on_the_decoy_act_on_the_decoy(
    make_api: ApiFactory, browser: Browser
) -> None:
    """Reject on the decoy's card rejects the decoy's action, and Release on its timeline
    releases the decoy's block; the victim's actions stay exactly as they were."""
    api = await make_api({"network-lateral-movement": network_policy("human-confirm")})
    async with listening(api.app, "127.0.0.1", 0) as base:
        victim, decoy = await decoy_and_victim(api, base)
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await sign_in(page, base, api.token[Role.ADMIN])
        card = page.locator(f"article.approval[data-action-id='{decoy}:a2']")
        await card.locator("input[name=reason]").fill("decoy")
        await card.locator("button.reject").click()
        await expect(page.locator(".notice")).to_be_visible()
        rejected = await api.wait_for(decoy, lambda v: v["actions"][1]["state"] == "rejected")
        assert rejected["actions"][1]["state"] == "rejected"

        async with httpx.AsyncClient(base_url=base) as http:
            approved = await http.post(
                f"/v1/approvals/{quote(decoy + ':a1', safe='')}/approve",
                json={"comment": "to release it"},
                headers=api.auth(Role.ADMIN),
            )
        assert approved.status_code == 200, approved.text
        await api.wait_for(decoy, lambda v: v["actions"][0]["state"] == "executed")
        await page.goto(f"{base}/responses/{quote(decoy, safe='')}")
        release = page.locator(f"tr[data-action-id='{decoy}:a1'] form")
        resolved = await release.evaluate("form => form.action")
        assert resolved == f"{base}/actions/darktrace%3Aq%2F..%2Fdarktrace%3Avictim-2%3Aa1/release"
        await release.locator("button").click()
        await api.wait_for(decoy, lambda v: v["actions"][0]["state"] == "released")
        await page.close()

    untouched = await api.wait_for(victim, both_pending)
    assert [a["state"] for a in untouched["actions"]] == ["pending_approval", "pending_approval"]
    assert api.stack.audit(victim, AuditKind.REJECTED) == []
    assert api.stack.audit(victim, AuditKind.RELEASED) == []
