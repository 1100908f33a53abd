"""The builder's daily loop, walked end to end in real Chromium (issue 13): start from a template, break a node
and save anyway, see the problem on the node, fix it, test-run the draft without publishing, pin the http node's
output, change a downstream node and test-run again (the pinned node does not execute: its counter says so), run
one node alone, publish, publish again unchanged (still one version), change and publish v2, and compare v1 with
v2 side by side. Screenshots of each stage are saved like the other console tests'."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from .test_console import RUN_TIMEOUT_MS, SCREENSHOTS, browser, page, playwright_sync, sign_in  # noqa: F401

expect = playwright_sync.expect

pytestmark = pytest.mark.e2e

MERGE = "reverse(sort_by([nodes.fetch_first.output.body, nodes.fetch_second.output.body, nodes.fetch_third.output.body], &temperature_c))"


def set_field(page: Any, field: str, text: str) -> None:  # noqa: F811
    """Replace a node config field's text, whether the field is a plain textarea or a code editor."""
    box = page.locator(f"[data-testid=node-panel] [data-field={field}]")
    box.locator(".cm-content, textarea, input").first.wait_for()  # a code editor loads lazily
    editor = box.locator(".cm-content")
    if editor.count():
        editor.click()
        page.keyboard.press("Control+a")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(text)
    else:
        box.locator("textarea, input").first.fill(text)


def test_builder_walks_template_to_diff_without_publishing_until_ready(page: Any, local_stack: str) -> None:  # noqa: F811
    # Given alice creates a flow from the "Compare cities" template (three http calls merged by a transform)
    sign_in(page, local_stack, "alice")
    page.get_by_test_id("new-flow").click()
    page.get_by_test_id("template-gallery").wait_for()
    page.locator("[data-testid=template-card][data-template-id=compare-cities]").click()
    name = f"E2E loop {os.getpid()}-{int(time.time())}"
    page.locator("#flow-name").fill(name)
    page.get_by_role("button", name="Create and open").click()
    merge = page.locator(".fnode[data-node-id=merge]")
    merge.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "nexod_loop_1_template.png"))

    # When she breaks the merge node (it reads a node that does not exist) and saves anyway
    merge.click()
    set_field(page, "expression", MERGE.replace("fetch_third", "fetch_fourth"))
    page.get_by_test_id("save").click()

    # Then the draft is saved with its problem, and the problem is shown on the node it names
    page.get_by_test_id("toast-info").filter(has_text="Draft saved with 1 problem").wait_for()
    page.locator(".fnode[data-node-id=merge].has-issues").wait_for()
    assert "fetch_fourth" in (merge.get_attribute("title") or "")
    page.screenshot(path=str(SCREENSHOTS / "nexod_loop_2_problem.png"))

    # And the field itself shows the server's problem
    field = page.locator("[data-testid=node-panel] [data-field=expression]")
    field.get_by_role("alert").filter(has_text="fetch_fourth").first.wait_for()

    # When she fixes it with autocomplete: `nodes.fetch_` offers the upstream nodes only, she picks the third
    head = MERGE.split("nodes.fetch_third")[0]
    set_field(page, "expression", head + "nodes.fetch_")
    page.keyboard.press("Control+Space")
    options = page.locator(".cm-tooltip-autocomplete .cm-completionLabel")
    expect(options).to_have_text(["fetch_first", "fetch_second", "fetch_third"])
    page.wait_for_timeout(250)  # CodeMirror ignores a pick for 75 ms after the list opens
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(MERGE.split("nodes.fetch_third")[1])
    assert field.locator(".cm-content").inner_text() == MERGE
    page.locator(".fnode[data-node-id=merge]:not(.has-issues)").wait_for()

    # And test-runs the draft (the panel saves it first) without publishing
    page.get_by_test_id("test-run").click()
    panel = page.get_by_test_id("test-run-panel")
    panel.get_by_test_id("start-test-run").click()
    status = panel.locator(".row:has([data-testid=test-run-name]) [data-status]")
    panel.locator(".row:has([data-testid=test-run-name]) [data-status=SUCCEEDED]").wait_for(timeout=RUN_TIMEOUT_MS)
    first_run = panel.get_by_test_id("test-run-name").inner_text()
    assert first_run.startswith("Test #"), first_run
    assert page.get_by_test_id("flow-title").inner_text() == name
    fetch_first = panel.locator("[data-testid=test-run-nodes] li[data-node-id=fetch_first][data-status=SUCCEEDED]")
    fetch_first.wait_for()

    # When she pins the http node's output from that run
    fetch_first.locator("button").first.click()
    panel.get_by_test_id("pin-output").click()
    panel.get_by_test_id("unpin").wait_for()
    panel.get_by_text("(1 pinned)").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "nexod_loop_3_pinned.png"))

    # And changes the downstream merge (coldest first now) and test-runs again
    page.get_by_role("button", name="Close").first.click()
    panel.wait_for(state="detached")
    merge.click()
    set_field(page, "expression", MERGE.removeprefix("reverse(").removesuffix(")"))
    page.get_by_test_id("test-run").click()
    panel.get_by_test_id("start-test-run").click()
    panel.get_by_test_id("test-run-name").filter(has_not_text=first_run).wait_for()
    panel.locator(".row:has([data-testid=test-run-name]) [data-status=SUCCEEDED]").wait_for(timeout=RUN_TIMEOUT_MS)
    second_run = panel.get_by_test_id("test-run-name").inner_text()

    # Then the pinned node did not execute (its counter says so) while the others did
    pinned = panel.locator("[data-testid=test-run-nodes] li[data-node-id=fetch_first]")
    assert pinned.get_attribute("data-pinned") == "true"
    assert pinned.get_by_test_id("node-status-text").inner_text() == "Pinned · 0 executions"
    merged = panel.locator("[data-testid=test-run-nodes] li[data-node-id=merge][data-status=SUCCEEDED]")
    merged.wait_for()
    merged.locator("button").first.click()
    detail = panel.get_by_test_id("test-node-detail")
    temperatures = detail.get_by_test_id("node-output").inner_text()
    assert "temperature_c" in temperatures, temperatures
    page.screenshot(path=str(SCREENSHOTS / "nexod_loop_4_pinned_run.png"))

    # When she runs the merge node alone, its upstream outputs taken from that run
    detail.get_by_test_id("run-one-node").click()
    panel.get_by_test_id("test-run-name").filter(has_not_text=second_run).wait_for()
    panel.locator(".row:has([data-testid=test-run-name]) [data-status=SUCCEEDED]").wait_for(timeout=RUN_TIMEOUT_MS)

    # Then only the merge node executed in that run: the others (but the input, which is the run's input) were
    # taken from the earlier run, 0 executions each
    rows = panel.locator("[data-testid=test-run-nodes] li")
    rows.filter(has_text="Pinned").first.wait_for()
    states = {
        rows.nth(i).get_attribute("data-node-id"): rows.nth(i).get_by_test_id("node-status-text").inner_text()
        for i in range(rows.count())
    }
    assert states.pop("start") == "Succeeded", states
    assert states.pop("merge") == "Succeeded", states
    assert set(states.values()) == {"Pinned · 0 executions"}, states
    page.screenshot(path=str(SCREENSHOTS / "nexod_loop_5_one_node.png"))
    assert status.count() == 1
    page.get_by_role("button", name="Close").first.click()

    # When she publishes, then publishes again without a change
    page.get_by_test_id("publish").click()
    page.get_by_test_id("confirm-publish").click()
    page.get_by_test_id("toast-success").filter(has_text="Published v1").wait_for()
    page.get_by_test_id("publish").click()
    page.get_by_test_id("confirm-publish").click()

    # Then the second publish made nothing new: still one version
    page.get_by_test_id("toast-info").filter(has_text="Nothing new to publish").wait_for()
    page.get_by_test_id("versions").click()
    page.get_by_test_id("version-1").wait_for()
    assert page.locator("[data-testid^=version-]").count() == 1
    page.get_by_role("button", name="Close").first.click()

    # When she changes the merge node again and publishes v2
    merge.click()
    set_field(page, "expression", MERGE)
    page.get_by_test_id("publish").click()
    page.get_by_test_id("confirm-publish").click()
    page.get_by_test_id("toast-success").filter(has_text="Published v2").wait_for()

    # Then v1 and v2 compare side by side: the merge node's expression changed, nothing else
    page.get_by_test_id("versions").click()
    page.get_by_test_id("diff-2").click()
    diff = page.get_by_test_id("version-diff")
    diff.wait_for()
    text = diff.inner_text()
    assert "v1" in text and "v2" in text and "merge" in text and "expression" in text, text
    assert "reverse(" in text, text
    assert page.get_by_test_id("diff-node-added").count() == 0
    assert page.get_by_test_id("diff-node-removed").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "nexod_loop_6_diff.png"))
    assert page.page_errors == []
