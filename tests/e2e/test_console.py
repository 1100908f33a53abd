"""The web console in real Chromium against the local stack: sign in, run the seeded flow, inspect it, and
check that a viewer is offered no way to change or run anything."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.ci import missing, require_module

playwright_sync = require_module("playwright.sync_api", "`make install` installs it (it drives the OS Chromium)")

CHROMIUM = os.environ.get("NEXOD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("NEXOD_SCREENSHOTS", "/tmp"))
SEEDED_FLOW = "Hello Nexod"
RUN_TIMEOUT_MS = 180_000  # a run on the offline model, while the other xdist workers use both cores

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing(f"Chromium not found at {CHROMIUM}: `make test` installs it (apt-get install -y chromium)")
    with playwright_sync.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.page_errors = errors  # read by the tests: an uncaught error in the console fails them
    yield pg
    context.close()


def sign_in(page: Any, base_url: str, user: str) -> None:
    page.goto(base_url.rstrip("/") + "/")
    page.get_by_test_id(f"signin-{user}").click()
    page.get_by_test_id("workspace-switcher").wait_for()


def sign_out(page: Any) -> None:
    page.get_by_test_id("user-menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    page.get_by_test_id("signin-alice").wait_for()


def open_flow(page: Any, name: str) -> None:
    page.get_by_test_id("flow-row").filter(has_text=name).first.click()
    page.get_by_test_id("flow-title").wait_for()
    page.locator(".fnode").first.wait_for()


def test_admin_runs_the_seeded_flow_and_inspects_a_node(page: Any, local_stack: str) -> None:
    # Given alice (admin of Demo) signed in, looking at the seeded flow
    sign_in(page, local_stack, "alice")
    open_flow(page, SEEDED_FLOW)
    assert page.get_by_test_id("flow-title").inner_text() == SEEDED_FLOW
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_editor.png"))

    # When she runs it with the input prefilled from the input node's example
    page.get_by_test_id("run").click()
    run_input = page.locator("#run-input").input_value()
    assert run_input.strip().startswith("{")
    page.get_by_test_id("start-run").click()

    # Then the run view follows the run live until it succeeds
    page.wait_for_url(re.compile(r".*/runs/[^/?]+$"))
    terminal = ", ".join(f"[data-testid=run-status] [data-status={s}]" for s in ("SUCCEEDED", "FAILED", "CANCELLED"))
    page.locator(terminal).wait_for(timeout=RUN_TIMEOUT_MS)
    status = page.locator("[data-testid=run-status] [data-status]").get_attribute("data-status")
    if status != "SUCCEEDED":
        page.screenshot(path=str(SCREENSHOTS / "nexod_console_run_failed.png"))
        errors = page.get_by_test_id("error-box").all_inner_texts()
        pytest.fail(f"the run ended {status}: {' | '.join(errors) or 'no error shown'}")

    # And every node is coloured by its final status
    page.wait_for_function(
        "() => [...document.querySelectorAll('.fnode')].every(n => ['SUCCEEDED', 'SKIPPED'].includes(n.dataset.status))"
    )
    succeeded = page.locator(".fnode[data-status=SUCCEEDED]")
    assert succeeded.count() >= 2
    border = succeeded.first.evaluate("n => getComputedStyle(n).borderTopColor")
    assert border == "rgb(74, 222, 128)", border  # the SUCCEEDED green
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_run.png"))

    # When she opens a node that ran after the input
    node = succeeded.nth(1)
    node_id = node.get_attribute("data-node-id")
    node.click()

    # Then its panel shows the node's output, attempts and timing
    panel = page.get_by_test_id("node-run-panel")
    panel.wait_for()
    assert node_id in panel.inner_text()
    output = page.get_by_test_id("node-output").inner_text()
    assert output.strip() and "No output yet" not in output
    assert "Attempts" in panel.inner_text() and "Duration" in panel.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_node.png"))

    # And the run is listed in the runs list as succeeded
    page.get_by_role("link", name="Runs", exact=True).first.click()
    page.get_by_test_id("run-row").first.wait_for()
    assert page.locator("[data-testid=run-row] [data-status=SUCCEEDED]").count() >= 1
    assert page.page_errors == []


def test_viewer_is_offered_no_edit_or_run(page: Any, local_stack: str) -> None:
    # Given vera, a viewer in Demo
    sign_in(page, local_stack, "vera")
    page.get_by_test_id("flow-row").first.wait_for()

    # Then the flows list offers no "New flow" and no delete
    assert page.get_by_test_id("new-flow").count() == 0
    assert page.get_by_role("button", name="Delete").count() == 0

    # When she opens the seeded flow
    open_flow(page, SEEDED_FLOW)

    # Then the editor is read-only: no palette, no save/validate/publish/run
    for test_id in ("run", "save", "publish", "validate"):
        assert page.get_by_test_id(test_id).count() == 0, test_id
    assert page.locator(".palette").count() == 0
    assert "Read-only" in page.locator(".readonly-bar").inner_text()
    # and the node form cannot be edited
    page.locator(".fnode").first.click()
    page.get_by_test_id("node-panel").wait_for()
    assert page.locator("#node-id").get_attribute("readonly") is not None
    # but versions can be read
    page.get_by_test_id("versions").click()
    page.get_by_text("View ASL").first.wait_for()
    assert page.get_by_text("Set live").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_viewer.png"))
    page.keyboard.press("Escape")

    # And a run, if any, offers neither cancel nor redrive
    page.get_by_role("link", name="Runs", exact=True).first.click()
    rows = page.get_by_test_id("run-row")
    page.wait_for_timeout(500)
    if rows.count():
        rows.first.click()
        page.get_by_test_id("run-status").wait_for()
        assert page.get_by_test_id("cancel-run").count() == 0
        assert page.get_by_test_id("redrive-run").count() == 0
    assert page.page_errors == []


def test_palette_groups_node_types_by_category_and_search_narrows_them(page: Any, local_stack: str) -> None:
    expect = playwright_sync.expect
    # Given alice in the editor of the seeded flow
    sign_in(page, local_stack, "alice")
    open_flow(page, SEEDED_FLOW)
    items = page.locator(".palette-item")
    items.first.wait_for()
    total = items.count()

    # Then the palette shows the node types under category headers (the registry's categories, or the
    # console's grouping by name), input first
    headers = page.get_by_test_id("palette-category").all_text_contents()
    assert len(headers) >= 2 and len(set(headers)) == len(headers), headers
    assert page.locator(".palette-group").first.get_by_test_id("palette-input").count() == 1
    http_group = page.locator(".palette-group").filter(has=page.get_by_test_id("palette-http"))
    http_category = http_group.get_by_test_id("palette-category").text_content()
    assert http_category in headers

    # When she searches by a type name
    search = page.get_by_test_id("palette-search")
    search.fill("HTTP")
    # Then only that type is left, under its category
    expect(items).to_have_count(1)
    expect(page.get_by_test_id("palette-http")).to_be_visible()
    assert page.get_by_test_id("palette-category").all_text_contents() == [http_category]

    # When she searches by words of a description
    search.fill("step functions waits")
    expect(items).to_have_count(1)
    expect(page.get_by_test_id("palette-wait")).to_be_visible()

    # When nothing matches / Then the palette says so
    search.fill("no such node kind")
    expect(items).to_have_count(0)
    expect(page.get_by_test_id("palette-empty")).to_contain_text("No node type matches")

    # When she clears the search with Escape / Then every type is back
    search.press("Escape")
    expect(items).to_have_count(total)

    # When she picks a type with the keyboard alone: search, arrow down to it, Enter
    nodes = page.locator(".fnode")
    before = nodes.count()
    search.fill("wait")
    search.press("ArrowDown")
    expect(page.get_by_test_id("palette-wait")).to_be_focused()
    page.keyboard.press("Enter")
    # Then it is on the canvas
    page.locator(".fnode[data-node-id=wait_1]").wait_for()
    expect(nodes).to_have_count(before + 1)
    assert page.page_errors == []


def test_member_builds_validates_publishes_and_runs_a_new_flow(page: Any, local_stack: str) -> None:
    # Given alice creates a new flow (it starts as input -> output)
    sign_in(page, local_stack, "alice")
    page.get_by_test_id("new-flow").click()
    name = f"E2E editor {os.getpid()}-{int(time.time())}"
    page.locator("#flow-name").fill(name)
    page.get_by_role("button", name="Create and open").click()
    page.locator(".fnode[data-node-id=input]").wait_for()

    # When she selects the input node and adds a transform from the palette
    page.locator(".fnode[data-node-id=input]").click()
    page.get_by_test_id("palette-transform").click()
    added = page.locator(".fnode[data-node-id=transform_1]")
    added.wait_for()

    # Then the API's validation names the new node, and the canvas highlights it
    page.locator(".fnode[data-node-id=transform_1].has-issues").wait_for()
    assert "problem" in page.get_by_test_id("validity").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_editor_issue.png"))

    # And the transform was inserted on the input -> output edge
    edge = ".react-flow__edge[data-id='{}']"
    page.locator(edge.format("input->transform_1")).wait_for(state="attached")
    page.locator(edge.format("transform_1->output")).wait_for(state="attached")
    assert page.locator(edge.format("input->output")).count() == 0

    # And the insertion can be undone and redone
    page.get_by_test_id("undo").click()
    added.wait_for(state="detached")
    page.locator(edge.format("input->output")).wait_for(state="attached")
    page.get_by_test_id("redo").click()
    added.wait_for()
    page.locator(".fnode[data-node-id=transform_1]").click()

    # When she fills in the expression and also wires the input straight to the output by dragging
    page.locator("[data-field=expression] .cm-content").fill("{echo: input}")  # a code editor (issue 13)
    page.locator(".fnode[data-node-id=transform_1]:not(.has-issues)").wait_for()
    drag_edge(page, "input", "output")
    page.locator(edge.format("input->output")).wait_for(state="attached")

    # Then the flow validates, saves, publishes and runs
    page.get_by_test_id("validate").click()
    page.get_by_test_id("toast-success").filter(has_text="valid").first.wait_for()
    page.get_by_test_id("save").click()
    page.get_by_test_id("toast-success").filter(has_text="saved").first.wait_for()
    page.get_by_test_id("publish").click()
    page.get_by_test_id("confirm-publish").click()
    page.get_by_test_id("toast-success").filter(has_text="Published v1").first.wait_for()
    page.get_by_test_id("run").click()
    page.get_by_test_id("start-run").click()
    page.locator("[data-testid=run-status] [data-status=SUCCEEDED]").wait_for(timeout=RUN_TIMEOUT_MS)
    page.locator(".fnode[data-node-id=transform_1][data-status=SUCCEEDED]").wait_for()
    assert page.page_errors == []


def test_a_failed_run_is_redriven_on_the_fixed_live_version(page: Any, local_process: Any) -> None:
    from tests.support.api import Api

    # Given a run that failed on v1 (its lookup answers 404) and a v2 that fixes the URL
    api = Api(local_process.url, local_process.token("alice"))
    ws = api.ok("GET", "/v1/me")["workspaces"][0]["id"]

    def flow(path: str) -> dict:
        return {
            "nodes": [
                {"id": "start", "type": "input"},
                {"id": "lookup", "type": "http", "config": {"url": f"{local_process.url}{path}"}},
                {"id": "result", "type": "output"},
            ],
            "edges": [{"from": "start", "to": "lookup"}, {"from": "lookup", "to": "result"}],
        }

    created = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": "Redrive me", "definition": flow("/demo/missing")})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{created['id']}/versions", {})
    started = api.ok("POST", f"/v1/workspaces/{ws}/flows/{created['id']}/runs", {"input": {}})
    assert api.wait_run(ws, started["id"])["status"] == "FAILED"
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{created['id']}", {"definition": flow("/demo/weather")})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{created['id']}/versions", {})

    # When alice opens the run and redrives it on the live version
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/runs/{started['id']}")
    page.locator("[data-testid=run-status] [data-status=FAILED]").wait_for()
    page.get_by_test_id("redrive-run").click()
    choice = page.get_by_test_id("redrive-version")
    choice.wait_for()
    choice.get_by_text("(live)").click()
    page.get_by_test_id("confirm-action").click()

    # Then the run finishes on v2, and the view says so
    page.locator("[data-testid=run-status] [data-status=SUCCEEDED]").wait_for(timeout=RUN_TIMEOUT_MS)
    page.get_by_role("button", name="v2").wait_for()
    assert api.ok("GET", f"/v1/workspaces/{ws}/runs/{started['id']}")["version"] == 2
    assert page.page_errors == []


def test_the_run_view_and_runs_list_follow_the_event_stream_without_polling(page: Any, local_process: Any) -> None:
    from tests.support.api import Api

    # Given a flow that waits two seconds between its input and a transform
    api = Api(local_process.url, local_process.token("alice"))
    ws = api.ok("GET", "/v1/me")["workspaces"][0]["id"]
    definition = {
        "nodes": [
            {"id": "start", "type": "input"},
            {"id": "pause", "type": "wait", "config": {"seconds": 2}},
            {"id": "shape", "type": "transform", "config": {"expression": "{ok: `true`}"}},
            {"id": "result", "type": "output"},
        ],
        "edges": [
            {"from": "start", "to": "pause"},
            {"from": "pause", "to": "shape"},
            {"from": "shape", "to": "result"},
        ],
    }
    created = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": "Streamed", "definition": definition})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{created['id']}/versions", {})
    sign_in(page, local_process.url, "alice")
    # And every request the page makes is recorded
    requests: list[tuple[str, str]] = []
    page.on("request", lambda r: requests.append((r.url, r.headers.get("accept", ""))))

    # When a run starts and alice watches it from the run view
    started = api.ok("POST", f"/v1/workspaces/{ws}/flows/{created['id']}/runs", {"input": {}})
    page.goto(f"{local_process.url}/#/w/{ws}/runs/{started['id']}")
    page.locator("[data-testid=run-status] [data-status]").wait_for()

    # Then it turns green, its nodes too, from the run's event stream (Server-Sent Events)
    page.locator("[data-testid=run-status] [data-status=SUCCEEDED]").wait_for(timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.fnode')].every(n => n.dataset.status === 'SUCCEEDED')"
    )
    run_path = re.compile(rf"/v1/workspaces/{ws}/runs/{started['id']}(\?.*)?$")
    reads = [url for url, _ in requests if run_path.search(url)]
    streams = [url for url, accept in requests if "/events" in url and "text/event-stream" in accept]
    # And the run itself was read only to draw it and once more for its final outputs: never polled (the
    # old view read it every second of the run's two-second wait and more)
    assert streams, requests
    assert 1 <= len(reads) <= 3, reads

    # When alice opens the runs list and another run starts
    requests.clear()
    page.goto(f"{local_process.url}/#/w/{ws}/runs")
    page.get_by_test_id("run-row").first.wait_for()
    second = api.ok("POST", f"/v1/workspaces/{ws}/flows/{created['id']}/runs", {"input": {}})
    # Then the new run appears and turns green in the list without a timer reloading it
    row = page.locator(f"[data-testid=run-row][data-run-id='{second['id']}']")
    row.locator("[data-status=SUCCEEDED]").wait_for(timeout=RUN_TIMEOUT_MS)
    listings = [url for url, _ in requests if re.search(r"/runs(\?.*)?$", url)]
    assert len(listings) <= 4, listings
    assert page.page_errors == []


def drag_edge(page: Any, source: str, target: str) -> None:
    """Connect two nodes the way a user does: drag from the source handle to the target handle."""
    src = page.locator(f".fnode[data-node-id={source}] .react-flow__handle.source").first.bounding_box()
    dst = page.locator(f".fnode[data-node-id={target}] .react-flow__handle.target").first.bounding_box()
    page.mouse.move(src["x"] + src["width"] / 2, src["y"] + src["height"] / 2)
    page.mouse.down()
    page.mouse.move(dst["x"] + dst["width"] / 2, dst["y"] + dst["height"] / 2, steps=12)
    page.mouse.up()


def test_the_console_says_when_the_default_model_is_unavailable(page: Any, tmp_path: Path) -> None:
    import socket

    from .launcher import launch

    # Given a `nexod up` whose offline model cannot run (its port is taken)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        process = launch(tmp_path / "state", model_port=squatter.getsockname()[1])
        try:
            # When alice opens the console
            sign_in(page, process.url, "alice")
            notice = page.get_by_test_id("health-notice")
            # Then a notice says the default model is unavailable, why, and what it means for llm nodes
            notice.wait_for()
            text = notice.inner_text()
            assert "The default model is unavailable." in text and "is in use" in text, text
            assert 'LLM nodes using model "default" fail' in text
            page.screenshot(path=str(SCREENSHOTS / "console-model-unavailable.png"))
            assert not page.page_errors
        finally:
            process.stop()


def test_the_console_shows_no_health_notice_when_everything_answers(page: Any, local_stack: str) -> None:
    # Given the healthy local stack
    sign_in(page, local_stack, "alice")
    page.get_by_test_id("flow-row").first.wait_for()
    # When the console has polled /v1/health / Then it shows no notice
    page.wait_for_timeout(500)
    assert page.get_by_test_id("health-notice").count() == 0


# -- credentials, members and the HTTP allow-list -------------------------------------------------------------
def demo_workspace(api: Any) -> str:
    return next(w["id"] for w in api.ok("GET", "/v1/me")["workspaces"] if w["name"] == "Demo")


def test_member_creates_rotates_and_deletes_a_credential_whose_value_never_reaches_the_page(
    page: Any, local_process: Any
) -> None:
    from tests.support.api import Api

    expect = playwright_sync.expect
    admin = Api(local_process.url, local_process.token("alice"))
    ws = demo_workspace(admin)
    # Given bob, a member of Demo, on its Credentials page
    admin.ok("PUT", f"/v1/workspaces/{ws}/members/{quote('local|bob', safe='')}", {"role": "member"})
    name = f"E2E_KEY_{os.getpid()}_{int(time.time())}"
    canary = f"sk-canary-{os.urandom(8).hex()}"
    sign_in(page, local_process.url, "bob")
    page.goto(f"{local_process.url}/#/w/{ws}/flows")
    page.get_by_role("link", name="Credentials", exact=True).click()
    page.get_by_test_id("new-credential").click()

    # When he picks the API key type and submits without a key
    page.locator("#cred-name").fill(name)
    page.locator("#cred-type").select_option("api_key")
    key = page.locator("#cred-value-key")
    assert key.get_attribute("type") == "password"
    page.get_by_test_id("create-credential").click()
    # Then the API's refusal is shown next to the key field
    expect(page.locator("[data-field=key] + .field-error")).to_contain_text("required")

    # When he types the key and creates it
    key.fill(canary)
    page.get_by_test_id("create-credential").click()

    # Then the snippets to use it are offered, and the value is nowhere in the page
    snippets = page.get_by_test_id("credential-snippet")
    expect(snippets.first).to_have_text("{{ secrets." + name + " }}")
    expect(snippets.nth(1)).to_have_text("{{ secrets." + name + ".key }}")
    assert canary not in page.content()
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_credential_created.png"))
    page.get_by_role("button", name="Done").click()
    row = page.locator(f"[data-testid=credential-row][data-name='{name}']")
    expect(row.get_by_test_id("credential-fields")).to_have_text("key")
    assert canary not in page.content()
    page.reload()
    expect(row).to_contain_text("API key")
    assert canary not in page.content()

    # When he tries to create another credential with the same name
    page.get_by_test_id("new-credential").click()
    page.locator("#cred-name").fill(name)
    page.locator("#cred-value-key").fill("another")
    page.get_by_test_id("create-credential").click()
    # Then the conflict is shown next to the name
    expect(page.locator("#cred-name + .field-error")).to_contain_text("exists")
    page.get_by_role("button", name="Cancel").click()

    # Given a flow whose live version uses it
    flow = admin.ok(
        "POST",
        f"/v1/workspaces/{ws}/flows",
        {
            "name": f"Uses {name}",
            "definition": {
                "nodes": [
                    {"id": "start", "type": "input"},
                    {
                        "id": "call",
                        "type": "http",
                        "config": {"url": local_process.url + "/demo/weather?k={{ secrets." + name + " }}"},
                    },
                    {"id": "result", "type": "output"},
                ],
                "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "result"}],
            },
        },
    )
    admin.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {})
    page.reload()
    # Then the list links the flow as a live user
    expect(row.get_by_role("link", name=f"Uses {name}")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_credentials.png"))

    # When he rotates it to a new value
    rotated = f"sk-rotated-{os.urandom(8).hex()}"
    row.get_by_test_id("rotate-credential").click()
    new_key = page.locator("#rotate-value-key")
    assert new_key.input_value() == ""  # the old value is never shown
    new_key.fill(rotated)
    page.get_by_test_id("confirm-rotate").click()
    # Then the list says who rotated it, and neither value is in the page
    page.get_by_test_id("toast-success").filter(has_text=f"Rotated {name}").wait_for()
    expect(row).to_contain_text("local|bob")
    html = page.content()
    assert canary not in html and rotated not in html

    # When he deletes it, the live flow blocks the delete and is named
    row.get_by_test_id("delete-credential").click()
    page.get_by_test_id("confirm-delete").click()
    blocked = page.get_by_test_id("delete-blocked")
    expect(blocked.get_by_role("link", name=f"Uses {name}")).to_be_visible()
    # And "delete anyway" deletes it
    page.get_by_test_id("force-delete").click()
    expect(row).to_have_count(0)
    assert admin.call("GET", f"/v1/workspaces/{ws}/credentials/{name}")[0] == 404

    # When he saves the flow that still names it
    page.goto(f"{local_process.url}/#/w/{ws}/flows/{flow['id']}")
    page.locator(".fnode[data-node-id=call]").click()
    url = page.locator("[data-field=url] .cm-content")  # a template field: a code editor (issue 13)
    url.fill(url.inner_text() + "&v=2")
    page.get_by_test_id("save").click()
    # Then the editor warns (without blocking) that the credential is missing, with a way to create it
    warning = page.get_by_test_id("save-warning")
    expect(warning).to_contain_text(name)
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_save_warning.png"))
    page.get_by_role("link", name=f"Create {name} in Credentials").click()
    page.get_by_test_id("new-credential").wait_for()
    assert page.page_errors == []


def test_viewer_reads_credentials_members_and_allow_list_without_controls(page: Any, local_process: Any) -> None:
    from tests.support.api import Api

    expect = playwright_sync.expect
    admin = Api(local_process.url, local_process.token("alice"))
    ws = demo_workspace(admin)
    # Given a credential in Demo
    name = f"VIEWED_{os.getpid()}_{int(time.time())}"
    admin.ok(
        "POST", f"/v1/workspaces/{ws}/credentials", {"name": name, "type": "bearer", "value": {"token": "t0k3n-canary"}}
    )

    # When vera (a viewer) opens the Credentials page
    sign_in(page, local_process.url, "vera")
    page.get_by_role("link", name="Credentials", exact=True).click()
    row = page.locator(f"[data-testid=credential-row][data-name='{name}']")
    # Then she sees it listed, but no way to create, rotate or delete
    expect(row).to_contain_text("token")
    assert page.get_by_test_id("new-credential").count() == 0
    assert page.get_by_test_id("rotate-credential").count() == 0
    assert page.get_by_test_id("delete-credential").count() == 0
    assert "t0k3n-canary" not in page.content()

    # And the members and the allow-list are read-only for her
    page.get_by_role("link", name="Members", exact=True).click()
    expect(page.locator("[data-testid=member-row][data-user='local|vera']")).to_contain_text("viewer")
    assert page.get_by_test_id("add-member").count() == 0 and page.get_by_test_id("member-role").count() == 0
    page.get_by_role("link", name="Allow-list", exact=True).click()
    page.get_by_test_id("allowed-hosts-list").wait_for()
    assert page.locator("#allowed-hosts").count() == 0
    assert page.page_errors == []


def test_admin_adds_a_member_changes_the_role_and_edits_the_allow_list(page: Any, local_process: Any) -> None:
    from tests.support.api import Api

    expect = playwright_sync.expect
    admin = Api(local_process.url, local_process.token("alice"))
    ws = demo_workspace(admin)
    user = f"local|carol-{os.getpid()}-{int(time.time())}"
    # Given alice, admin of Demo, on its Members page
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/members")

    # When she adds a user as a viewer, with email and name
    page.locator("#member-user").fill(user)
    page.locator("#member-role").select_option("viewer")
    page.locator("#member-email").fill("carol@example.com")
    page.locator("#member-name").fill("Carol Tester")
    page.get_by_test_id("add-member").click()
    # Then the user is listed as a viewer
    row = page.locator(f"[data-testid=member-row][data-user='{user}']")
    expect(row).to_contain_text("Carol Tester")
    expect(row.get_by_test_id("member-role")).to_have_value("viewer")
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_members.png"))

    # When she makes the user a member
    row.get_by_test_id("member-role").select_option("member")
    page.get_by_test_id("toast-success").filter(has_text="is now a member").wait_for()
    # Then the API has the new role
    members = admin.ok("GET", f"/v1/workspaces/{ws}/members")["items"]
    assert next(m["role"] for m in members if m["user_sub"] == user) == "member"

    # When she opens the allow-list and adds an entry that is no host
    page.get_by_role("link", name="Allow-list", exact=True).click()
    hosts = page.locator("#allowed-hosts")
    before = hosts.input_value()
    assert before.strip(), "the seeded allow-list names the local server"
    hosts.fill(before + "\nhttp://not/a/host")
    page.get_by_test_id("save-allowed-hosts").click()
    # Then the refusal is shown next to the list
    expect(page.locator("#allowed-hosts + .field-error")).to_contain_text("'http://not/a/host'")

    # When she adds a host:port instead and saves
    hosts.fill(before + "\nApi.Internal:8443")
    page.get_by_test_id("save-allowed-hosts").click()
    page.get_by_test_id("toast-success").filter(has_text="Allow-list saved").wait_for()
    # Then it is stored (lower-cased) next to the seeded hosts, and shown after a reload
    stored = admin.ok("GET", f"/v1/workspaces/{ws}")["allowed_hosts"]
    assert "api.internal:8443" in stored and all(h in stored for h in before.split())
    page.reload()
    expect(page.locator("#allowed-hosts")).to_contain_text("api.internal:8443")
    assert page.page_errors == []


def test_admin_deletes_a_workspace_only_after_typing_its_name(page: Any, local_process: Any) -> None:
    from tests.support.api import Api

    expect = playwright_sync.expect
    admin = Api(local_process.url, local_process.token("alice"))
    name = f"E2E doomed {os.getpid()}-{int(time.time())}"
    ws = admin.ok("POST", "/v1/workspaces", {"name": name})["id"]
    admin.ok("POST", f"/v1/workspaces/{ws}/credentials", {"name": "k", "type": "api_key", "value": {"key": "k-0123"}})
    # Given alice, its admin, on its Members page, and bob a viewer who sees no danger zone
    admin.ok("PUT", f"/v1/workspaces/{ws}/members/{quote('local|bob', safe='')}", {"role": "viewer"})
    sign_in(page, local_process.url, "bob")
    page.goto(f"{local_process.url}/#/w/{ws}/members")
    page.get_by_test_id("member-row").first.wait_for()
    expect(page.get_by_test_id("danger-zone")).to_have_count(0)
    sign_out(page)
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/members")

    # When she opens the danger zone's delete and types a name that is not quite the workspace's
    page.get_by_test_id("delete-workspace").click()
    confirm = page.get_by_test_id("confirm-delete-workspace")
    typed = page.locator("#confirm-workspace-name")
    typed.fill(name.upper())
    # Then the delete button stays disabled
    expect(confirm).to_be_disabled()
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_delete_workspace.png"))

    # When she types its exact name and confirms
    typed.fill(name)
    expect(confirm).to_be_enabled()
    confirm.click()
    # Then the console says what was done and leaves the workspace, which is gone from her switcher
    page.get_by_test_id("toast-success").filter(has_text=f"Deleted {name}").wait_for()
    expect(page.get_by_test_id("toast-success").filter(has_text=f"Deleted {name}")).to_contain_text(
        "1 credential destroyed"
    )
    page.wait_for_url(re.compile(r"#/w/(?!" + ws + r")"))
    assert ws not in {w["id"] for w in admin.ok("GET", "/v1/workspaces")["items"]}
    assert admin.call("GET", f"/v1/workspaces/{ws}")[0] == 404
    page.get_by_test_id("workspace-switcher").click()
    expect(page.get_by_text(name)).to_have_count(0)
    assert page.page_errors == []


# -- audit log, usage and budget, LLM settings -----------------------------------------------------------------
def test_admin_finds_a_role_change_and_a_new_credential_in_the_audit_log(page: Any, local_process: Any) -> None:
    from tests.support.api import Api

    expect = playwright_sync.expect
    admin = Api(local_process.url, local_process.token("alice"))
    ws = demo_workspace(admin)
    user = f"local|dora-{os.getpid()}-{int(time.time())}"
    name = f"AUDITED_{os.getpid()}_{int(time.time())}"
    admin.ok("PUT", f"/v1/workspaces/{ws}/members/{quote(user, safe='')}", {"role": "viewer"})
    admin.ok("PUT", f"/v1/workspaces/{ws}/members/{quote('local|bob', safe='')}", {"role": "member"})

    # Given alice, admin of Demo, who makes a viewer a member on the Members page
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/members")
    page.locator(f"[data-testid=member-row][data-user='{user}'] [data-testid=member-role]").select_option("member")
    page.get_by_test_id("toast-success").filter(has_text="is now a member").wait_for()
    # and creates a credential on the Credentials page
    page.get_by_role("link", name="Credentials", exact=True).click()
    page.get_by_test_id("new-credential").click()
    page.locator("#cred-name").fill(name)
    page.locator("#cred-type").select_option("api_key")
    page.locator("#cred-value-key").fill("audit-canary-value")
    page.get_by_test_id("create-credential").click()
    page.get_by_role("button", name="Done").click()

    # When she opens the Audit page from the header, next to Members
    nav = page.locator(".topnav a").all_inner_texts()
    assert nav.index("Audit") == nav.index("Members") + 1, nav
    page.get_by_role("link", name="Audit", exact=True).click()

    # Then both entries are listed, newest first, the role change with the previous role
    rows = page.get_by_test_id("audit-row")
    created = rows.filter(has_text=name)
    changed = page.locator("[data-testid=audit-row][data-action='member.put']").filter(has_text=user)
    expect(created).to_have_count(1)
    expect(created).to_contain_text("credential.create")
    expect(created.get_by_test_id("audit-summary")).to_have_text("api_key credential created, fields: key")
    expect(changed.first.get_by_test_id("audit-summary")).to_have_text("role viewer → member")
    expect(changed.first).to_contain_text("local|alice")
    assert rows.first.get_attribute("data-action") == "credential.create"
    assert "audit-canary-value" not in page.content()
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_audit.png"))

    # When she keeps only credential actions
    page.get_by_test_id("audit-action").select_option("credential.")
    # Then every row listed is one, and hers is there
    expect(rows.filter(has_text=name)).to_have_count(1)
    actions = {r.get_attribute("data-action") for r in rows.all()}
    assert actions and all(a.startswith("credential.") for a in actions), actions

    # When 60 newer role changes push her credential past the first page
    for i in range(60):
        admin.ok("PUT", f"/v1/workspaces/{ws}/members/{quote(user, safe='')}", {"role": ("viewer", "member")[i % 2]})
    page.get_by_test_id("audit-action").select_option("")
    # Then the first page is 50 entries without it, and loading older entries brings it, newest first throughout
    expect(rows).to_have_count(50)
    expect(rows.filter(has_text=name)).to_have_count(0)
    page.get_by_test_id("audit-more").click()
    expect(rows.filter(has_text=name)).to_have_count(1)
    ids = [int(r.get_attribute("data-id")) for r in rows.all()]
    assert len(ids) > 50 and ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)

    # And bob, a member, is offered no Audit link
    sign_out(page)
    sign_in(page, local_process.url, "bob")
    page.goto(f"{local_process.url}/#/w/{ws}/members")
    page.get_by_test_id("member-row").first.wait_for()
    assert page.get_by_role("link", name="Audit", exact=True).count() == 0
    assert page.page_errors == []


def test_admin_reads_usage_and_sets_the_budget_a_viewer_reads_it(page: Any, local_process: Any) -> None:
    from tests.support.api import Api

    expect = playwright_sync.expect
    admin = Api(local_process.url, local_process.token("alice"))
    ws = demo_workspace(admin)
    # Given a published flow with an llm node (the local stack's offline default model), run this month
    name = f"Usage {os.getpid()}-{int(time.time())}"
    flow = admin.ok(
        "POST",
        f"/v1/workspaces/{ws}/flows",
        {
            "name": name,
            "definition": {
                "nodes": [
                    {"id": "start", "type": "input"},
                    {"id": "ask", "type": "llm", "config": {"prompt": "Say {{ input.word }}", "model": "default"}},
                    {"id": "result", "type": "output"},
                ],
                "edges": [{"from": "start", "to": "ask"}, {"from": "ask", "to": "result"}],
            },
        },
    )
    admin.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {})
    started = admin.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/runs", {"input": {"word": "hello"}})
    ran = admin.wait_run(ws, started["id"], timeout=RUN_TIMEOUT_MS / 1000)
    assert ran["status"] == "SUCCEEDED", ran
    ask = admin.nodes(ws, started["id"])["ask"]
    assert ask["model"] and ask["tokens_in"] > 0, ask
    usage = admin.ok("GET", f"/v1/workspaces/{ws}/usage")
    assert usage["total"]["total_usd"] > 0 and usage["total"]["tokens_in"] > 0, usage["total"]

    # When alice opens the run / Then its cost is the total of its parts, and the llm node says its model has no
    # price (the offline model: tokens counted, LLM cost $0, `cost_source: unknown`)
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/runs/{started['id']}")
    run_cost = page.get_by_test_id("run-cost")
    expect(run_cost).not_to_have_text("$0.00")
    assert float(run_cost.inner_text().lstrip("$")) == pytest.approx(ran["cost"]["total"], abs=1e-6)
    page.locator(".fnode[data-node-id=ask]").click()
    expect(page.get_by_test_id("node-llm-cost")).to_contain_text("no price for this model")

    # When she opens Usage from the header
    page.goto(f"{local_process.url}/#/w/{ws}/flows")
    page.get_by_role("link", name="Usage", exact=True).click()
    # Then the range is this month in her browser's time zone
    tz = page.evaluate("() => Intl.DateTimeFormat().resolvedOptions().timeZone")
    expect(page.get_by_test_id("usage-tz")).to_have_text(tz)
    today = page.evaluate("() => new Date().toLocaleDateString('en-CA')")
    expect(page.locator("#usage-from")).to_have_value(today[:8] + "01")
    expect(page.locator("#usage-to")).to_have_value(today)
    # And the totals have a cost and tokens
    totals = page.get_by_test_id("usage-totals")
    expect(totals).to_contain_text("Node runs")
    cost = totals.locator(".stat").filter(has_text="Total cost").locator(".stat-value")
    assert float(cost.inner_text().lstrip("$")) > 0, cost.inner_text()
    tokens = totals.locator(".stat").filter(has_text="Tokens in / out").locator(".stat-value").inner_text()
    assert int(tokens.split("/")[0].strip().replace(",", "")) > 0, tokens
    # And the cost chart stacks today's cost by flow, her flow among the series, with readable dollar ticks
    chart = page.get_by_test_id("cost-chart")
    expect(chart.locator(".recharts-bar-rectangle path").first).to_be_visible()
    expect(chart.locator(".recharts-legend-item").filter(has_text=name)).to_have_count(1)
    texts = chart.locator(".recharts-cartesian-axis-tick-value").evaluate_all("ts => ts.map(t => t.textContent)")
    ticks = [t for t in texts if t.startswith("$")]
    assert len(ticks) == len(set(ticks)) > 1, texts
    # And her flow is among the top flows, with its tokens
    row = page.locator(f"[data-testid=top-flow-row][data-flow='{flow['id']}']")
    expect(row).to_contain_text(name)
    expect(row).not_to_contain_text("0 / 0")
    # When she stacks by model / Then the model her llm node called is a series, and node runs without one are named
    page.get_by_test_id("stack-model").click()
    expect(page.get_by_test_id("stack-model")).to_have_attribute("aria-selected", "true")
    legend = page.get_by_test_id("cost-chart").locator(".recharts-legend-item")
    expect(legend.filter(has_text=ask["model"])).to_have_count(1)
    expect(legend.filter(has_text="no model call")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_usage.png"))

    # When she sets a soft limit above the hard one / Then saving is refused on the page
    page.locator("#budget-soft").fill("50")
    page.locator("#budget-hard").fill("20")
    expect(page.get_by_test_id("budget")).to_contain_text("above the hard limit")
    expect(page.get_by_test_id("save-budget")).to_be_disabled()
    # When she sets $20 soft and $50 hard and saves
    page.locator("#budget-soft").fill("20")
    page.locator("#budget-hard").fill("50")
    page.get_by_test_id("save-budget").click()
    page.get_by_test_id("toast-success").filter(has_text="Budget saved").wait_for()
    # Then the API has them
    budget = admin.ok("GET", f"/v1/workspaces/{ws}/budget")
    assert (budget["monthly_soft_usd"], budget["monthly_hard_usd"]) == (20, 50)

    # And vera (a viewer) reads them without inputs
    sign_out(page)
    sign_in(page, local_process.url, "vera")
    page.goto(f"{local_process.url}/#/w/{ws}/usage")
    expect(page.get_by_test_id("budget")).to_contain_text("hard limit $50.00")
    assert page.locator("#budget-soft").count() == 0
    admin.ok("PUT", f"/v1/workspaces/{ws}/budget", {"monthly_soft_usd": None, "monthly_hard_usd": None})
    assert page.page_errors == []


def test_admin_edits_llm_settings_and_the_llm_node_offers_the_allowed_models(page: Any, local_process: Any) -> None:
    from tests.support.api import Api

    expect = playwright_sync.expect
    admin = Api(local_process.url, local_process.token("alice"))
    ws = demo_workspace(admin)
    before = admin.ok("GET", f"/v1/workspaces/{ws}/llm-settings")
    allowed = ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku"]

    # (the workspace's settings are shared by every e2e test: restored even when a step fails)
    try:
        # Given alice on the LLM settings page
        sign_in(page, local_process.url, "alice")
        page.goto(f"{local_process.url}/#/w/{ws}/flows")
        page.get_by_role("link", name="LLM", exact=True).click()
        page.locator("#llm-rpm").wait_for()
        # When she replaces the allowed models, picks a default and a request limit, and saves
        for _ in range(len(before["allowed_models"])):
            page.locator("#llm-allowed").press("Backspace")
        page.locator("#llm-allowed").fill(", ".join(allowed))
        page.locator("#llm-allowed").press("Enter")
        expect(page.get_by_test_id("model-tag")).to_have_count(2)
        page.locator("#llm-default").fill(allowed[0])
        page.locator("#llm-rpm").fill("120")
        page.get_by_test_id("save-llm-settings").click()
        page.get_by_test_id("toast-success").filter(has_text="LLM settings saved").wait_for()
        # Then the API has them
        saved = admin.ok("GET", f"/v1/workspaces/{ws}/llm-settings")
        # (the API keeps the allowed models sorted, and the page shows what it answered)
        assert saved["allowed_models"] == sorted(allowed) and saved["default_model"] == allowed[0]
        assert saved["requests_per_minute"] == 120
        expect(page.get_by_test_id("model-tag").locator(".mono")).to_have_text(sorted(allowed))
        page.screenshot(path=str(SCREENSHOTS / "nexod_console_llm_settings.png"))

        # When she opens an llm node in the editor
        flow = admin.ok(
            "POST",
            f"/v1/workspaces/{ws}/flows",
            {
                "name": f"LLM models {os.getpid()}-{int(time.time())}",
                "definition": {
                    "nodes": [
                        {"id": "start", "type": "input"},
                        {"id": "ask", "type": "llm", "config": {"prompt": "hi", "model": allowed[0]}},
                        {"id": "result", "type": "output"},
                    ],
                    "edges": [{"from": "start", "to": "ask"}, {"from": "ask", "to": "result"}],
                },
            },
        )
        page.goto(f"{local_process.url}/#/w/{ws}/flows/{flow['id']}")
        page.locator(".fnode[data-node-id=ask]").click()
        # Then the model field (a template field, a code editor) offers default and the allowed models as completions
        model = page.locator("[data-field=model] .cm-content")
        model.click()
        page.keyboard.press("Control+Home")
        page.keyboard.press("Control+Space")
        options = page.locator(".cm-tooltip-autocomplete .cm-completionLabel")
        expect(options).to_have_count(3)
        assert [o.inner_text().strip() for o in options.all()] == ["default", *allowed]
        page.keyboard.press("Escape")
        # And fallback models are a list input offering the same models (the node type's schema has the field)
        fallback = page.locator("[data-field=fallback_models]")
        fallback.get_by_test_id("string-list-add").click()
        # (an input with suggestions is a combobox to assistive technology, not a plain textbox)
        item = fallback.get_by_role("combobox", name="Item 1")
        item.fill(allowed[1])
        suggested = page.locator(f"datalist#{item.get_attribute('list')} option")
        assert sorted(o.get_attribute("value") for o in suggested.all()) == sorted(allowed)  # models, not "default"
        with page.expect_response(
            lambda r: r.request.method == "PUT" and r.url.endswith(f"/flows/{flow['id']}")
        ) as put:
            page.get_by_test_id("save").click()
        assert put.value.ok, put.value.status
        node = next(
            n
            for n in admin.ok("GET", f"/v1/workspaces/{ws}/flows/{flow['id']}")["definition"]["nodes"]
            if n["id"] == "ask"
        )
        assert node["config"]["fallback_models"] == [allowed[1]]
    finally:
        admin.ok(
            "PUT",
            f"/v1/workspaces/{ws}/llm-settings",
            {k: before[k] for k in ("allowed_models", "default_model", "requests_per_minute", "tokens_per_minute")},
        )
    assert page.page_errors == []


def test_member_creates_a_knowledge_base_uploads_documents_and_queries_it_a_viewer_only_queries(
    page: Any, local_process: Any, tmp_path: Path
) -> None:
    from tests.support.api import Api
    from tests.support.documents import pdf_with_text

    expect = playwright_sync.expect
    admin = Api(local_process.url, local_process.token("alice"))
    ws = demo_workspace(admin)
    name = f"handbook-{os.getpid()}-{int(time.time())}"
    notes = tmp_path / "pets.md"
    notes.write_text("# Pets\n\nCats purr and chase mice. Dogs fetch sticks in the park.\n")
    pdf = tmp_path / "volcano.pdf"
    pdf.write_bytes(pdf_with_text("Volcanoes erupt lava and ash.", "Magma rises from the mantle."))
    # Given alice (an admin of Demo) on the Knowledge page
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/flows")
    page.get_by_role("link", name="Knowledge", exact=True).click()
    # When she creates a knowledge base and uploads a markdown file and a PDF
    page.get_by_test_id("new-kb").click()
    page.locator("#kb-name").fill(name)
    page.get_by_test_id("create-kb").click()
    expect(page.get_by_test_id("kb-detail")).to_contain_text(name)
    page.get_by_test_id("kb-upload").set_input_files([str(notes), str(pdf)])
    # Then both documents are listed with their chunks
    expect(page.get_by_test_id("kb-document")).to_have_count(2)
    expect(page.get_by_test_id("kb-documents")).to_contain_text("volcano.pdf")
    # When she searches in other words
    page.get_by_test_id("kb-query").fill("eruption of a mountain")
    page.get_by_test_id("kb-search").click()
    # Then the PDF's chunk comes first, with its score
    expect(page.get_by_test_id("kb-match").first).to_contain_text("lava")
    expect(page.get_by_test_id("kb-results")).to_contain_text("wordllama")
    # And a filter that is not JSON is caught before it is sent
    page.get_by_test_id("kb-filter").fill("{nope")
    expect(page.get_by_test_id("kb-search")).to_be_disabled()
    page.get_by_test_id("kb-filter").fill('{"document": "pets.md"}')
    page.get_by_test_id("kb-search").click()
    expect(page.get_by_test_id("kb-match").first).to_contain_text("purr")
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_knowledge.png"))
    # When vera (a viewer) opens the same knowledge base
    sign_out(page)
    sign_in(page, local_process.url, "vera")
    page.get_by_role("link", name="Knowledge", exact=True).click()
    page.get_by_role("link", name=name).click()
    # Then she can search it but has no upload and no create button
    expect(page.get_by_test_id("kb-document")).to_have_count(2)
    expect(page.get_by_test_id("kb-upload")).to_have_count(0)
    expect(page.get_by_test_id("new-kb")).to_have_count(0)
    page.get_by_test_id("kb-query").fill("dogs playing")
    page.get_by_test_id("kb-search").click()
    expect(page.get_by_test_id("kb-match").first).to_contain_text("Dogs")
