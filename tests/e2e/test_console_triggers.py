"""The Triggers panel of a flow in real Chromium against the local stack (issue 12): a schedule made with the cron
helper shows its next five fire times in the user's own time zone; a webhook's secret is shown once (gone after
a reload); a delivery signed in Python shows up in the deliveries linked to its run; the enabled toggle; a
viewer reads without controls."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nexod.domain.triggers import sign
from tests.support.api import Api
from tests.unit.flows import edge, node

from .test_console import SCREENSHOTS, browser, open_flow, playwright_sync, sign_in  # noqa: F401

pytestmark = pytest.mark.e2e

USER_ZONE = "Asia/Tokyo"  # the browser's zone: never the schedule's, never the machine's
ECHO = {
    "nodes": [node("start", "input"), node("echo", "transform", expression="input"), node("result", "output")],
    "edges": [edge("start", "echo"), edge("echo", "result")],
}


@pytest.fixture
def tokyo_page(browser: Any) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id=USER_ZONE)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.page_errors = errors
    yield pg
    context.close()


def _demo(api: Api) -> str:
    return str(next(w["id"] for w in api.ok("GET", "/v1/me")["workspaces"] if w["name"] == "Demo"))


def _flow(api: Api, ws: str, name: str) -> str:
    flow = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": name, "definition": ECHO})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {"description": "e2e"})
    return str(flow["id"])


def _open_triggers(page: Any, flow_name: str | None) -> Any:
    """The flow's Triggers drawer, from the flows list (or from the flow's page already open: no name)."""
    if flow_name is not None:
        open_flow(page, flow_name)
    page.get_by_test_id("flow-title").wait_for()
    page.get_by_test_id("open-triggers").click()
    panel = page.get_by_test_id("triggers-panel")
    panel.wait_for()
    return panel


def test_a_member_schedules_a_flow_makes_a_webhook_and_follows_a_signed_delivery_to_its_run(
    tokyo_page: Any, local_process: Any
) -> None:
    page, expect = tokyo_page, playwright_sync.expect
    alice = Api(local_process.url, local_process.token("alice"))
    ws = _demo(alice)
    flow = _flow(alice, ws, "Triggered (e2e)")
    sign_in(page, local_process.url, "alice")
    panel = _open_triggers(page, "Triggered (e2e)")
    expect(panel.get_by_text("No triggers")).to_be_visible()

    # When alice, in Tokyo, makes a schedule "daily at 09:00" in Europe/Berlin with the cron helper
    panel.get_by_test_id("new-trigger").click()
    form = page.get_by_test_id("trigger-form")
    form.get_by_test_id("trigger-timezone").select_option("Europe/Berlin")
    form.get_by_test_id("cron-preset-daily").click()
    form.get_by_test_id("cron-time").fill("09:00")
    # Then the expression is EventBridge's and the next five fire times are shown in her zone
    expect(form.get_by_test_id("cron-expression")).to_have_value("cron(0 9 * * ? *)")
    shown = form.locator("[data-testid=cron-next][data-expression='cron(0 9 * * ? *)'][data-timezone='Europe/Berlin']")
    times = shown.get_by_test_id("cron-next-time")
    expect(times).to_have_count(5)
    expect(form).to_contain_text(f"your time zone ({USER_ZONE})")
    for i in range(5):
        iso = times.nth(i).get_attribute("data-iso")
        assert iso is not None
        due = datetime.fromisoformat(iso)
        # each is 09:00 in Berlin, and the line starts with that instant's wall time in Tokyo
        assert due.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "09:00", iso
        tokyo = due.astimezone(ZoneInfo(USER_ZONE)).strftime("%H:%M")
        expect(times.nth(i)).to_contain_text(tokyo)
        assert tokyo != "09:00"
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_trigger_schedule.png"))
    # And a custom expression EventBridge would refuse shows the API's reason instead of times
    form.get_by_test_id("cron-preset-custom").click()
    form.get_by_test_id("cron-expression").fill("cron(0 9 * * * *)")
    expect(form.get_by_test_id("cron-error")).to_contain_text("exactly one of day-of-month and day-of-week")
    form.get_by_test_id("cron-preset-weekdays").click()
    expect(form.get_by_test_id("cron-expression")).to_have_value("cron(0 9 ? * MON-FRI *)")
    weekdays = form.locator("[data-testid=cron-next][data-expression='cron(0 9 ? * MON-FRI *)'] li")
    expect(weekdays).to_have_count(5)
    page.get_by_test_id("save-trigger").click()
    row = panel.locator("[data-testid=trigger-row][data-kind=schedule]")
    expect(row).to_contain_text("cron(0 9 ? * MON-FRI *)")
    expect(row.get_by_test_id("trigger-next")).not_to_have_text("—")

    # When she makes a webhook
    panel.get_by_test_id("new-trigger").click()
    form.get_by_test_id("kind-webhook").click()
    form.get_by_test_id("trigger-mapping").fill("{city: delivery.body.city}")
    page.get_by_test_id("save-trigger").click()
    # Then its URL and secret are shown once, with a curl example that signs with openssl
    expect(page.get_by_test_id("secret-once")).to_contain_text("shown once")
    secret = page.get_by_test_id("secret-value").input_value()
    url = page.get_by_test_id("secret-url").input_value()
    assert secret.startswith("whsec_") and re.search(r"/v1/hooks/[0-9a-f-]{36}$", url), (secret, url)
    curl = page.get_by_test_id("secret-curl").inner_text()
    assert "openssl dgst -sha256 -hmac" in curl and secret in curl and url in curl
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_trigger_secret.png"))
    page.get_by_test_id("secret-done").click()
    hook_id = url.rsplit("/", 1)[-1]

    # When the page is reloaded, the secret is nowhere on it
    page.reload()
    panel = _open_triggers(page, None)
    hook_row = panel.locator(f"[data-testid=trigger-row][data-id='{hook_id}']")
    hook_row.click()
    details = panel.get_by_test_id("trigger-details")
    expect(details.get_by_test_id("hook-url")).to_have_value(url)
    expect(details.get_by_test_id("no-deliveries")).to_be_visible()
    assert secret not in page.content()

    # When a delivery signed in Python reaches the webhook
    body = json.dumps({"city": "Oslo"}).encode()
    ts = str(int(datetime.now(UTC).timestamp()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Nexod-Timestamp": ts,
            "X-Nexod-Signature": sign(secret, ts, body),
        },
    )
    with urllib.request.urlopen(request) as resp:
        assert resp.status == 202
        run_id = json.loads(resp.read())["run_id"]
    # Then it appears in the open trigger's deliveries, started, linked to its run
    delivery = details.locator("[data-testid=delivery][data-status=started]")
    expect(delivery).to_have_count(1, timeout=20_000)
    expect(delivery.get_by_test_id("delivery-run")).to_have_attribute("data-run", run_id)
    link = details.locator(f"[data-testid=delivery-run][data-run='{run_id}']")
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_triggers.png"))

    # When she sends a test from the console, it starts a run too, named in the outcome
    details.get_by_test_id("trigger-test").click()
    page.get_by_test_id("test-payload").fill('{"city": "Bergen"}')
    page.get_by_test_id("send-test").click()
    expect(page.get_by_test_id("test-outcome")).to_have_attribute("data-status", "started")
    expect(page.get_by_test_id("trigger-test-run")).to_be_visible()
    page.keyboard.press("Escape")
    expect(details.locator("[data-testid=delivery][data-status=started]")).to_have_count(2, timeout=20_000)

    # When she switches the webhook off with its toggle, the API says it is disabled
    toggle = hook_row.get_by_test_id("trigger-enabled")
    expect(toggle).to_be_checked()
    toggle.click()
    expect(toggle).not_to_be_checked()
    shown = alice.ok("GET", f"/v1/workspaces/{ws}/flows/{flow}/triggers/{hook_id}")
    assert shown["enabled"] is False and "secret" not in shown

    # And the run the signed delivery started is one click away and got the mapped input
    link.click()
    page.wait_for_url(re.compile(f".*/runs/{run_id}$"))
    assert alice.wait_run(ws, run_id)["input"] == {"city": "Oslo"}
    assert page.page_errors == []


def test_a_viewer_reads_triggers_without_controls(tokyo_page: Any, local_process: Any) -> None:
    page, expect = tokyo_page, playwright_sync.expect
    alice = Api(local_process.url, local_process.token("alice"))
    ws = _demo(alice)
    flow = _flow(alice, ws, "Triggered (viewer e2e)")
    schedule = {"expression": "rate(15 minutes)", "timezone": "UTC"}
    alice.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/triggers", {"kind": "schedule", "config": schedule})
    # Given vera, a viewer of Demo, opens the flow's triggers
    sign_in(page, local_process.url, "vera")
    page.get_by_test_id("flow-row").first.wait_for()
    panel = _open_triggers(page, "Triggered (viewer e2e)")
    # Then she sees the schedule, read-only: no new trigger, a disabled toggle, no actions
    row = panel.locator("[data-testid=trigger-row][data-kind=schedule]")
    expect(row).to_contain_text("rate(15 minutes)")
    expect(panel.get_by_test_id("new-trigger")).to_have_count(0)
    expect(row.get_by_test_id("trigger-enabled")).to_be_disabled()
    row.click()
    expect(panel.get_by_test_id("trigger-details")).to_be_visible()
    expect(panel.get_by_test_id("trigger-test")).to_have_count(0)
    expect(panel.get_by_test_id("trigger-delete")).to_have_count(0)
    assert page.page_errors == []
