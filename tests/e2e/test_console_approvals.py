"""Approvals in the console, in real Chromium against the local stack (issue 11): a run started from the console
parks at an approval node, is decided from the inbox and succeeds; another is decided inline in the run view;
a third, decided by someone else, changes on screen while it is watched; and the public approval-link page."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

import pytest

from tests.support.api import Api
from tests.unit.flows import edge, node

from .test_console import RUN_TIMEOUT_MS, SCREENSHOTS, browser, open_flow, page, playwright_sync, sign_in  # noqa: F401

pytestmark = pytest.mark.e2e

FORM = {
    "type": "object",
    "properties": {
        "budget": {"type": "integer", "minimum": 0, "title": "Budget"},
        "note": {"type": "string"},
    },
    "required": ["budget"],
}


def _demo(api: Api) -> str:
    return str(next(w["id"] for w in api.ok("GET", "/v1/me")["workspaces"] if w["name"] == "Demo"))


def _approval_flow(api: Api, ws: str, name: str, notify: dict[str, Any] | None = None) -> str:
    """input -> approval (a form with a required budget) -> output of the decision; created and published."""
    definition = {
        "nodes": [
            node("start", "input"),
            node(
                "gate",
                "approval",
                title="Ship {{ input.what }}?",
                message="Please check **{{ input.what }}** before it ships.\n\n- tests pass\n- docs updated",
                form=FORM,
                **({"notify": notify} if notify else {}),
            ),
            node("end", "output", value="{{ nodes.gate.output }}"),
        ],
        "edges": [edge("start", "gate"), edge("gate", "end")],
    }
    flow = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": name, "definition": definition})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {"description": "e2e"})
    return str(flow["id"])


def _pending(api: Api, ws: str, run_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        items = api.ok("GET", f"/v1/workspaces/{ws}/approvals?status=pending&run={run_id}")["items"]
        if items:
            return dict(items[0])
        assert time.monotonic() < deadline, f"no pending approval for run {run_id}"
        time.sleep(0.2)


def _start(api: Api, ws: str, flow_id: str, what: str) -> str:
    status, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow_id}/runs", {"input": {"what": what}})
    assert status == 202, started
    return str(started["id"])


def _wait_succeeded(pg: Any) -> None:
    terminal = ", ".join(f"[data-testid=run-status] [data-status={s}]" for s in ("SUCCEEDED", "FAILED", "CANCELLED"))
    pg.locator(terminal).wait_for(timeout=RUN_TIMEOUT_MS)
    status = pg.locator("[data-testid=run-status] [data-status]").get_attribute("data-status")
    assert status == "SUCCEEDED", pg.get_by_test_id("error-box").all_inner_texts()


def test_a_run_started_in_the_console_is_approved_from_the_inbox_and_succeeds(page: Any, local_process: Any) -> None:  # noqa: F811
    expect = playwright_sync.expect
    alice = Api(local_process.url, local_process.token("alice"))
    ws = _demo(alice)
    _approval_flow(alice, ws, "Ship gate (inbox)")
    # Given alice runs the flow from the console
    sign_in(page, local_process.url, "alice")
    open_flow(page, "Ship gate (inbox)")
    page.get_by_test_id("run").click()
    page.locator("#run-input").fill(json.dumps({"what": "v2"}))
    page.get_by_test_id("start-run").click()
    page.wait_for_url(re.compile(r".*/runs/[^/?]+$"))
    run_id = page.url.rsplit("/", 1)[-1]
    # And the run parks at the approval: the overview says it waits for her
    asked = _pending(alice, ws, run_id)
    expect(page.get_by_test_id("waiting-approvals")).to_contain_text("Ship v2?")
    expect(page.locator("[data-testid=run-status] [data-status=RUNNING]")).to_be_visible()

    # When she opens the inbox
    page.get_by_test_id("nav-approvals").click()
    # Then the nav badge counts it, and the row shows the title, the rendered message, flow, run, age and expiry
    expect(page.get_by_test_id("approvals-badge")).to_have_text(re.compile(r"^\d+\+?$"))
    row = page.locator(f"[data-testid=approval-row][data-approval-id='{asked['id']}']")
    expect(row).to_contain_text("Ship v2?")
    expect(row.locator(".approval-preview strong")).to_have_text("v2")
    expect(row.get_by_test_id("approval-run-link")).to_have_attribute("href", re.compile(run_id))
    expect(row.get_by_test_id("approval-expiry")).to_contain_text("expires in")
    expect(row).to_contain_text("Ship gate (inbox)")

    # When she opens it, reads the run's context and approves without the required budget
    row.click()
    card = page.get_by_test_id("approval-detail").get_by_test_id("approval-card")
    expect(card.get_by_test_id("approval-message").locator("li")).to_have_count(2)
    context = page.get_by_test_id("approval-context")
    context.locator("summary").click()
    expect(context).to_contain_text('"what": "v2"')  # the run's input, and the outputs upstream of the approval
    card.get_by_test_id("approve").click()
    # Then the API's 422 is shown on the budget field
    expect(card.locator("[data-field=budget] ~ .field-error, [data-field=budget] .field-error").first).to_contain_text(
        "required"
    )
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_approval_invalid.png"))

    # When she fills the budget and a comment and approves
    card.get_by_label("Budget").fill("5")
    card.get_by_label("Comment").fill("ship it")
    card.get_by_test_id("approve").click()
    # Then the card shows the decision and the badge no longer counts it
    expect(card).to_have_attribute("data-status", "approved")
    expect(card.get_by_test_id("approval-outcome")).to_contain_text("Approved by local|alice: ship it")
    expect(page.locator(f"[data-testid=approval-row][data-approval-id='{asked['id']}']")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_approvals.png"))

    # And the run continues and succeeds with the fields in its output
    card.get_by_test_id("approval-run-link").click()
    _wait_succeeded(page)
    expect(page.get_by_test_id("run-output")).to_contain_text('"budget": 5')
    # And the decided filter lists it
    page.get_by_test_id("nav-approvals").click()
    page.get_by_test_id("approval-filter-decided").click()
    expect(page.locator(f"[data-testid=approval-row][data-approval-id='{asked['id']}']")).to_be_visible()
    assert page.page_errors == []


def test_an_approval_is_decided_inline_in_the_run_view_and_the_run_succeeds(page: Any, local_process: Any) -> None:  # noqa: F811
    expect = playwright_sync.expect
    alice = Api(local_process.url, local_process.token("alice"))
    ws = _demo(alice)
    flow_id = _approval_flow(alice, ws, "Ship gate (inline)")
    run_id = _start(alice, ws, flow_id, "v3")
    # Given alice watching the run while it waits at the approval node
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/runs/{run_id}")
    asked = _pending(alice, ws, run_id)
    page.locator(".fnode[data-node-id=gate][data-status=RUNNING]").wait_for(timeout=RUN_TIMEOUT_MS)

    # When she opens the node
    page.locator(".fnode[data-node-id=gate]").click()
    panel = page.get_by_test_id("node-run-panel")
    card = panel.get_by_test_id("node-approval").get_by_test_id("approval-card")
    # Then its panel shows the approval with the form inline
    expect(card.get_by_test_id("approval-title")).to_have_text("Ship v3?")
    expect(card.get_by_test_id("approval-message").locator("strong")).to_have_text("v3")
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_run_approval.png"))

    # When she enters a budget below the minimum and approves
    card.get_by_label("Budget").fill("-1")
    card.get_by_test_id("approve").click()
    # Then the field says why and nothing is sent: the approval still waits
    expect(card.locator("[data-field=budget] .field-error")).to_have_text("at least 0")
    expect(card.get_by_test_id("approval-error")).to_have_text("Correct budget first.")
    assert alice.ok("GET", f"/v1/workspaces/{ws}/approvals/{asked['id']}")["status"] == "pending"

    # When she clears the required budget and approves
    card.get_by_label("Budget").fill("")
    card.get_by_test_id("approve").click()
    # Then the API's 422 names the budget field, shown under it
    expect(card.locator("[data-field=budget] ~ .field-error")).to_contain_text("required")

    # When she corrects it and approves
    card.get_by_label("Budget").fill("7")
    card.get_by_test_id("approve").click()
    # Then the node turns green, the run succeeds and its output carries the decision
    _wait_succeeded(page)
    page.locator(".fnode[data-node-id=gate][data-status=SUCCEEDED]").wait_for()
    expect(card).to_have_attribute("data-status", "approved")
    page.get_by_role("button", name="Close node details").click()
    expect(page.get_by_test_id("run-output")).to_contain_text('"decision": "approve"')
    expect(page.get_by_test_id("run-output")).to_contain_text('"budget": 7')
    assert page.page_errors == []


def test_a_decision_made_elsewhere_reaches_the_open_run_view(page: Any, local_process: Any) -> None:  # noqa: F811
    expect = playwright_sync.expect
    alice = Api(local_process.url, local_process.token("alice"))
    ws = _demo(alice)
    flow_id = _approval_flow(alice, ws, "Ship gate (elsewhere)")
    run_id = _start(alice, ws, flow_id, "v4")
    asked = _pending(alice, ws, run_id)
    # Given alice watching the approval form inline in the run view
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/runs/{run_id}")
    page.locator(".fnode[data-node-id=gate][data-status=RUNNING]").wait_for(timeout=RUN_TIMEOUT_MS)
    page.locator(".fnode[data-node-id=gate]").click()
    card = page.get_by_test_id("node-approval").get_by_test_id("approval-card")
    expect(card.get_by_test_id("approve")).to_be_visible()

    # When someone else rejects it through the API
    alice.ok("PUT", f"/v1/workspaces/{ws}/members/local|dora", {"role": "member"})
    dora = Api(local_process.url, local_process.token("dora"))
    dora.ok(
        "POST",
        f"/v1/workspaces/{ws}/approvals/{asked['id']}/decide",
        {"decision": "reject", "comment": "not today", "fields": {"budget": 0}},
    )
    # Then, without a reload, the form goes away and the card says who rejected it and why
    expect(card).to_have_attribute("data-status", "rejected", timeout=RUN_TIMEOUT_MS)
    expect(card.get_by_test_id("approve")).to_have_count(0)
    expect(card.get_by_test_id("approval-outcome")).to_contain_text("Rejected by local|dora: not today")
    _wait_succeeded(page)
    assert page.page_errors == []


def test_a_viewer_sees_the_run_wait_but_is_offered_no_decision(page: Any, local_process: Any) -> None:  # noqa: F811
    expect = playwright_sync.expect
    alice = Api(local_process.url, local_process.token("alice"))
    ws = _demo(alice)
    flow_id = _approval_flow(alice, ws, "Ship gate (viewer)")
    run_id = _start(alice, ws, flow_id, "v7")
    asked = _pending(alice, ws, run_id)
    # Given vera, a viewer, on the waiting run
    sign_in(page, local_process.url, "vera")
    page.goto(f"{local_process.url}/#/w/{ws}/runs/{run_id}")
    page.locator(".fnode[data-node-id=gate][data-status=RUNNING]").wait_for(timeout=RUN_TIMEOUT_MS)
    # When she opens the approval node
    page.locator(".fnode[data-node-id=gate]").click()
    # Then it says it waits for its approvers, with no form, and her inbox has nothing to decide
    expect(page.get_by_test_id("node-approval-hidden")).to_be_visible()
    assert page.get_by_test_id("approve").count() == 0
    page.get_by_test_id("nav-approvals").click()
    expect(page.get_by_text("Nothing waits for you")).to_be_visible()
    assert page.get_by_test_id("approvals-badge").count() == 0
    # And when alice cancels the run, the approval is withdrawn
    alice.ok("POST", f"/v1/workspaces/{ws}/runs/{run_id}/cancel")
    assert alice.wait_run(ws, run_id)["status"] == "CANCELLED"
    assert alice.ok("GET", f"/v1/workspaces/{ws}/approvals/{asked['id']}")["status"] == "withdrawn"
    assert page.page_errors == []


def _link_route_exists(base: str) -> bool:
    """The approval-link API (built in parallel): present once the API's OpenAPI document publishes it."""
    with urllib.request.urlopen(f"{base}/v1/openapi.json", timeout=10) as resp:
        return "/v1/approval-links/{token}" in json.loads(resp.read())["paths"]


def _outbox_link(state_dir: Any, after: float) -> str | None:
    """The newest approval-link token in the local outbox (`.eml` files) written after `after`."""
    found: list[tuple[float, str]] = []
    for eml in state_dir.rglob("*.eml"):
        if eml.stat().st_mtime < after:
            continue
        text = eml.read_text(errors="replace").replace("=\n", "").replace("=3D", "=")
        for m in re.finditer(r"approve/([A-Za-z0-9._~%-]{16,})", text):
            found.append((eml.stat().st_mtime, m.group(1)))
    return max(found)[1] if found else None


def test_the_public_approval_link_page(page: Any, local_process: Any) -> None:  # noqa: F811
    expect = playwright_sync.expect
    assert _link_route_exists(local_process.url), "the approval-link API is not published"
    # Given a tampered link, opened without signing in
    page.goto(f"{local_process.url}/#/approve/tampered-token-0000000000")
    # Then the page says the link is not valid (and does not ask to sign in)
    expect(page.get_by_test_id("link-final-title")).to_have_text("This link is not valid")
    assert page.get_by_test_id("signin-alice").count() == 0

    # Given a run waiting for an approver named by email, whose link the local outbox holds
    alice = Api(local_process.url, local_process.token("alice"))
    ws = _demo(alice)
    flow_id = _approval_flow(alice, ws, "Ship gate (link)", notify={"emails": ["reviewer@example.com"]})
    started = time.time() - 1
    run_id = _start(alice, ws, flow_id, "v5")
    _pending(alice, ws, run_id)
    token = None
    deadline = time.monotonic() + 30
    while token is None and time.monotonic() < deadline:
        token = _outbox_link(local_process.state_dir, started)
        time.sleep(0.3)
    assert token is not None, "no approval link reached the local outbox"
    # When the recipient opens it, fills the form and approves
    page.goto(f"{local_process.url}/#/approve/{token}")
    expect(page.get_by_test_id("approval-title")).to_have_text("Ship v5?")
    expect(page.get_by_test_id("approval-message").locator("strong")).to_have_text("v5")
    page.get_by_test_id("approve").click()
    expect(page.locator("[data-field=budget] .field-error, [data-field=budget] ~ .field-error").first).to_be_visible()
    page.get_by_label("Budget").fill("3")
    page.get_by_test_id("approve").click()
    # Then the page thanks them, and the run succeeds
    expect(page.get_by_test_id("link-final-title")).to_have_text("Approved — thank you")
    assert alice.wait_run(ws, run_id)["status"] == "SUCCEEDED"
    # When the link is opened again, it says it was used
    page.reload()
    expect(page.get_by_test_id("link-final-title")).to_have_text(
        re.compile(r"This link was already used|already decided")
    )
    assert page.page_errors == []


LINK_VIEW = {
    "approval": {
        "id": "00000000-0000-4000-8000-000000000001",
        "title": "Ship v6?",
        "message": "Please check **v6**. <script>window.__pwned = 1</script>",
        "form": FORM,
        "status": "pending",
        "required_approvals": 1,
        "expires_at": "2099-01-01T00:00:00Z",
    },
    "workspace": {"name": "Demo"},
    "flow": {"name": "Ship gate (link)"},
    "recipient": "ops@example.com",
}


def _answer_links(pg: Any, answers: dict[str, list[tuple[int, Any]]]) -> list[Any]:
    """Answer `/v1/approval-links/<token>[/decide]` in the browser with the contract's bodies, in order, and
    record what the page sent. Only until the real API is published: the page is written against its contract."""
    sent: list[Any] = []

    def handle(route: Any) -> None:
        request = route.request
        key = f"{request.method} {request.url.split('/v1/approval-links/', 1)[1]}"
        if request.method == "POST":
            sent.append({"body": request.post_data_json, "authorization": request.headers.get("authorization")})
        status, body = answers[key].pop(0)
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    pg.route("**/v1/approval-links/**", handle)
    return sent


def _error(status: int, code: str, message: str, details: Any = None) -> tuple[int, Any]:
    return status, {"error": {"code": code, "message": message, "details": details}}


def test_the_approval_link_page_follows_its_contract_to_each_final_state(page: Any, local_process: Any) -> None:  # noqa: F811
    expect = playwright_sync.expect
    # Given a link whose approval waits (the API answered as its contract says), opened by someone not signed in
    sent = _answer_links(
        page,
        {
            "GET good": [(200, LINK_VIEW)],
            "POST good/decide": [
                _error(
                    422, "invalid_input", "fields.budget: 'budget' is a required property", {"field": "fields.budget"}
                ),
                (200, {"status": "approved"}),
            ],
            "GET used": [_error(410, "link_used", "this link was used")],
            "GET late": [_error(410, "link_expired", "this link expired")],
            "GET late2": [(200, LINK_VIEW)],
            "POST late2/decide": [_error(410, "link_expired", "this link expired")],
            "GET raced": [(200, LINK_VIEW)],
            "POST raced/decide": [_error(409, "conflict", "this approval is rejected already")],
        },
    )
    page.goto(f"{local_process.url}/#/approve/good")
    # Then it shows who asks, the title, the rendered message without its raw HTML, and the form
    expect(page.get_by_test_id("approval-title")).to_have_text("Ship v6?")
    expect(page.get_by_test_id("link-approval")).to_contain_text("Ship gate (link)")
    expect(page.get_by_test_id("approval-message").locator("strong")).to_have_text("v6")
    assert page.evaluate("() => window.__pwned") is None
    assert page.get_by_test_id("signin-alice").count() == 0
    # When they approve without the required field, the 422 is shown on it
    page.get_by_test_id("approve").click()
    expect(page.locator("[data-field=budget] ~ .field-error")).to_contain_text("required")
    # When they fill it, comment and approve, the page thanks them
    page.get_by_label("Budget").fill("4")
    page.get_by_label("Comment").fill("fine")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("link-final-title")).to_have_text("Approved — thank you")
    assert sent[-1] == {
        "body": {"decision": "approve", "comment": "fine", "fields": {"budget": 4}},
        "authorization": None,
    }
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_approval_link.png"))

    # And a used link, an expired one (on opening or on deciding) and a decision someone else made each say so
    for token, title in (
        ("used", "This link was already used"),
        ("late", "This link expired"),
        ("late2", "This link expired"),
        ("raced", "This request was already decided"),
    ):
        page.goto(f"{local_process.url}/#/approve/{token}")
        if token in ("late2", "raced"):
            page.get_by_label("Budget").fill("1")
            page.get_by_test_id("reject").click()
        expect(page.get_by_test_id("link-final-title")).to_have_text(title)
    assert page.page_errors == []
