"""The builder's daily loop in real Chromium (issue 13, the parts that work against today's API): the seeded
flow opens at a readable zoom, the shortcut sheet, flow export, the node output viewer (tree, raw, side by side
with the rendered input), one toast at a time, and dark mode following the system setting. Screenshots are saved
like the other console tests'."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from .test_console import (  # noqa: F401
    RUN_TIMEOUT_MS,
    SCREENSHOTS,
    SEEDED_FLOW,
    browser,
    demo_workspace,
    open_flow,
    page,
    playwright_sync,
    sign_in,
)

playwright_expect = playwright_sync.expect

pytestmark = pytest.mark.e2e


def test_the_seeded_flow_opens_readable_and_the_editor_offers_shortcuts_and_export(page: Any, local_stack: str) -> None:  # noqa: F811
    # Given alice looking at the seeded flow
    sign_in(page, local_stack, "alice")
    open_flow(page, SEEDED_FLOW)

    # Then fit-to-view kept the labels readable (zoom at least 0.8)
    zoom = page.locator(".react-flow__viewport").evaluate("v => new DOMMatrix(getComputedStyle(v).transform).a")
    assert zoom >= 0.8 - 1e-6, zoom

    # When ? is typed on the canvas, the shortcut sheet lists the copy/paste shortcuts
    page.locator(".react-flow__pane").click()
    page.keyboard.press("Shift+Slash")
    sheet = page.get_by_test_id("shortcut-sheet")
    sheet.wait_for()
    assert "Paste nodes" in sheet.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_shortcuts.png"))
    page.keyboard.press("Escape")

    # When the flow is exported from the JSON dialog, the browser downloads a .json file of the definition
    page.get_by_test_id("json").click()
    with page.expect_download() as info:
        page.get_by_test_id("export-json").click()
    download = info.value
    assert download.suggested_filename == "hello-nexod.json"
    assert '"nodes"' in Path(download.path()).read_text()
    assert page.page_errors == []


def test_a_node_output_reads_as_a_tree_or_raw_beside_its_rendered_input(page: Any, local_stack: str) -> None:  # noqa: F811
    # Given a finished run of the seeded flow
    sign_in(page, local_stack, "alice")
    open_flow(page, SEEDED_FLOW)
    page.get_by_test_id("run").click()
    page.get_by_test_id("start-run").click()
    page.wait_for_url(re.compile(r".*/runs/[^/?]+$"))
    page.locator("[data-testid=run-status] [data-status=SUCCEEDED]").wait_for(timeout=RUN_TIMEOUT_MS)
    # (the run's toast was raised by the action that navigated: it stays, alone)
    assert page.get_by_test_id("toast-success").count() <= 1

    # When a succeeded node is opened and its panel widened
    page.locator(".fnode[data-status=SUCCEEDED]").nth(1).click()
    output = page.get_by_test_id("node-output")
    output.wait_for()
    page.get_by_test_id("widen-panel").click()

    # Then its output shows as a tree first, raw on request, with the rendered input beside it
    assert output.get_attribute("data-view") == "tree"
    page.get_by_test_id("node-input").wait_for()
    out_box = output.bounding_box()
    in_box = page.get_by_test_id("node-input").bounding_box()
    assert out_box and in_box and in_box["x"] > out_box["x"] + out_box["width"] - 1, (out_box, in_box)
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_output_viewer.png"))
    output.get_by_test_id("view-raw").click()
    assert output.locator("pre.json").inner_text().strip().startswith(("{", "[", '"'))
    assert page.page_errors == []


def test_dark_mode_follows_the_system_setting(browser: Any, local_stack: str) -> None:  # noqa: F811
    # Given a browser whose system setting is dark
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="dark")
    try:
        pg = context.new_page()
        sign_in(pg, local_stack, "alice")
        open_flow(pg, SEEDED_FLOW)
        # Then the console's surfaces and the canvas are dark
        bg = pg.locator(".toolbar").evaluate("n => getComputedStyle(n).backgroundColor")
        assert bg == "rgb(24, 27, 33)", bg
        assert pg.locator(".react-flow.dark").count() == 1
        pg.screenshot(path=str(SCREENSHOTS / "nexod_console_dark.png"))
    finally:
        context.close()


def test_nodes_copied_in_one_flow_paste_into_another_with_the_edge_between_them(page: Any, local_stack: str) -> None:  # noqa: F811
    # Given alice selects two connected nodes of the seeded weather flow (the condition and its FALSE branch)
    sign_in(page, local_stack, "alice")
    open_flow(page, "Weather brief")
    page.locator(".fnode[data-node-id=is_hot]").click()
    page.locator(".fnode[data-node-id=summary]").click(modifiers=["Control"])
    page.locator(".react-flow__node.selected").nth(1).wait_for()
    assert page.locator(".react-flow__node.selected").count() == 2

    # When she copies them, opens a new blank flow and pastes on its canvas
    page.keyboard.press("Control+c")
    page.get_by_role("link", name="Flows").first.click()
    page.get_by_test_id("new-flow").click()
    page.locator("#flow-name").fill(f"E2E paste {int(time.time() * 1000)}")
    page.get_by_role("button", name="Create and open").click()
    page.locator(".fnode[data-node-id=input]").wait_for()
    page.locator(".react-flow__pane").click()
    page.keyboard.press("Control+v")

    # Then both nodes arrive with their configuration, and the edge between them with its condition
    page.locator(".fnode[data-node-id=is_hot]").wait_for()
    page.locator(".fnode[data-node-id=summary]").wait_for()
    page.locator(".react-flow__edge[data-id='is_hot->summary']").wait_for(state="attached")
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_pasted.png"))
    page.get_by_test_id("json").click()
    document = page.locator("[role=dialog] textarea").first.input_value()
    assert '"condition": "false"' in document and "temperature_c" in document, document


def test_a_template_field_completes_upstream_paths_and_previews_against_the_last_run(
    page: Any,  # noqa: F811
    local_process: Any,
) -> None:
    from tests.support.api import Api

    api = Api(local_process.url, local_process.token("alice"))
    ws = demo_workspace(api)
    # Given a draft whose transform node ran in a test run (input -> shape -> result)
    ran = {
        "nodes": [
            {"id": "start", "type": "input", "config": {"example": {"name": "Ada"}}},
            {"id": "shape", "type": "transform", "config": {"expression": "{title: 'Hello', who: input.name}"}},
            {"id": "result", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "shape"}, {"from": "shape", "to": "result"}],
    }
    flow = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": f"Preview {time.time_ns()}", "definition": ran})
    started = api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/test-runs", {"input": {"name": "Ada"}})
    assert api.wait_run(ws, started["id"])["status"] == "SUCCEEDED"
    # And the builder then added an llm node after it (saved, not run)
    grown = {
        "nodes": [*ran["nodes"][:2], {"id": "greet", "type": "llm", "config": {"prompt": ""}}, ran["nodes"][2]],
        "edges": [ran["edges"][0], {"from": "shape", "to": "greet"}, {"from": "greet", "to": "result"}],
    }
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{flow['id']}", {"definition": grown})

    # When alice opens the llm node and types `{{ nodes.` in its prompt
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/flows/{flow['id']}")
    page.locator(".fnode[data-node-id=greet]").click()
    prompt = page.get_by_label("Prompt", exact=True)
    prompt.click()
    page.keyboard.type("Say {{ nodes.")
    page.keyboard.press("Control+Space")
    # Then only its upstream nodes are offered (not `result`, downstream)
    options = page.locator(".cm-tooltip-autocomplete .cm-completionLabel")
    playwright_expect(options).to_have_text(["shape", "start"])
    # When she picks `shape` with the keyboard, then `title` among its output's paths from the last run
    # (CodeMirror ignores a pick for 75 ms after the list opens, so that a fast Enter is a new line)
    page.wait_for_timeout(250)
    page.keyboard.press("Enter")
    page.keyboard.type(".output.")
    page.keyboard.press("Control+Space")
    playwright_expect(options).to_have_text(["title", "who"])
    page.wait_for_timeout(250)
    page.keyboard.press("Enter")
    page.keyboard.type(" }} to {{ input.name }}")
    # Then the prompt holds the completed template and its preview is rendered by the server from that run
    assert prompt.inner_text() == "Say {{ nodes.shape.output.title }} to {{ input.name }}"
    preview = page.get_by_test_id("preview-prompt")
    playwright_expect(preview).to_contain_text("Say Hello to Ada")
    page.screenshot(path=str(SCREENSHOTS / "nexod_console_expression_field.png"))
    assert page.page_errors == []
