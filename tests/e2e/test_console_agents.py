"""The agents console in real Chromium: the dashboard, the spec editor's two panes kept in sync with errors
on their line, publishing two versions, their diff, and moving the live pointer back."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.api import Api

from .test_console import browser, page, playwright_sync, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e


def _demo(api: Api) -> str:
    return str(next(w["id"] for w in api.ok("GET", "/v1/me")["workspaces"] if w["name"] == "Demo"))


def _gutter_errors(pg: Any, pane: str) -> list[int]:
    return [
        int(n)
        for n in pg.locator(f"[data-testid={pane}] .gutter-error").evaluate_all("ns => ns.map(n => n.dataset.line)")
    ]


def test_member_edits_a_spec_in_both_forms_publishes_twice_diffs_and_rolls_back(page: Any, local_process: Any) -> None:  # noqa: F811
    expect = playwright_sync.expect
    ws = _demo(Api(local_process.url, local_process.token("alice")))
    # Given alice on the Agents page, creating a new agent
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/agents")
    page.get_by_test_id("new-agent").click()
    page.wait_for_url(re.compile(r".*/agents/[^/?]+$"))
    markdown = page.locator("[data-testid=pane-markdown] textarea")
    json_pane = page.locator("[data-testid=pane-json] textarea")
    expect(markdown).to_have_value(re.compile(r"^---\nname: New agent\n"))
    expect(json_pane).to_have_value(re.compile(r'"name": "New agent"'))

    # When she renames it in the markdown
    markdown.fill(markdown.input_value().replace("name: New agent", "name: Fact checker"))
    # Then the JSON pane follows
    expect(json_pane).to_have_value(re.compile(r'"name": "Fact checker"'))

    # When she breaks a front matter value
    markdown.fill(markdown.input_value().replace("max_iterations: 15", "max_iterations: many"))
    # Then line 7 is marked in the gutter and the error names the line and section; the JSON pane keeps the spec
    expect(page.get_by_test_id("pane-markdown-errors")).to_contain_text("line 7 (front matter): max_iterations")
    assert _gutter_errors(page, "pane-markdown") == [7]
    expect(page.get_by_test_id("publish-agent")).to_be_disabled()
    markdown.fill(markdown.input_value().replace("max_iterations: many", "max_iterations: 5"))
    expect(page.get_by_test_id("pane-markdown-status")).to_have_text("valid")
    expect(json_pane).to_have_value(re.compile(r'"max_iterations": 5'))

    # When she edits the JSON side: a bad value, then a good one
    json_pane.fill(json_pane.input_value().replace('"memory": "none"', '"memory": "forever"'))
    expect(page.get_by_test_id("pane-json-errors")).to_contain_text("spec.memory")
    bad_line = next(i for i, line in enumerate(json_pane.input_value().split("\n"), 1) if '"memory"' in line)
    expect(page.locator(f"[data-testid=pane-json] .gutter-error[data-line='{bad_line}']")).to_have_count(1)
    json_pane.fill(json_pane.input_value().replace('"memory": "forever"', '"memory": "run"'))
    # Then the markdown follows
    expect(markdown).to_have_value(re.compile(r"\nmemory: run\n"))

    # When she publishes, edits the goal and publishes again
    page.get_by_test_id("publish-agent").click()
    expect(page.get_by_test_id("agent-live-version")).to_have_text("live: v1")
    markdown.fill(markdown.input_value().replace("citing your sources.", "citing two sources."))
    expect(json_pane).to_have_value(re.compile(r"citing two sources"))
    page.get_by_test_id("publish-agent").click()
    expect(page.get_by_test_id("agent-live-version")).to_have_text("live: v2")

    # Then the versions list shows both, and the diff of v1 with v2 is the goal line
    expect(page.get_by_test_id("agent-version-row")).to_have_count(2)
    diff = page.get_by_test_id("version-diff")
    expect(diff.locator("[data-kind=removed]")).to_contain_text("citing your sources.")
    expect(diff.locator("[data-kind=added]")).to_contain_text("citing two sources.")
    expect(page.get_by_test_id("diff-summary")).to_have_text("2 changed lines")

    # When she moves live back to v1
    page.get_by_test_id("make-live-1").click()
    # Then v1 carries the live badge, and the dashboard lists the agent with its model and live version
    expect(page.get_by_test_id("agent-live-version")).to_have_text("live: v1")
    expect(page.get_by_test_id("agent-version-row").filter(has_text="v1").get_by_test_id("live-badge")).to_have_count(1)
    page.get_by_role("link", name="Agents", exact=True).first.click()
    row = page.get_by_test_id("agent-row").filter(has_text="Fact checker").first
    expect(row.get_by_test_id("agent-live")).to_contain_text("v1")
    expect(row).to_contain_text("default")
    page.screenshot(path="/tmp/nexod_console_agents.png")
    assert page.page_errors == []


def test_a_viewer_reads_a_spec_but_cannot_change_it(page: Any, local_process: Any) -> None:  # noqa: F811
    expect = playwright_sync.expect
    admin = Api(local_process.url, local_process.token("alice"))
    ws = _demo(admin)
    agent = admin.ok(
        "POST",
        f"/v1/workspaces/{ws}/agents",
        {"spec": {"name": "Read only", "role": "r", "goal": "g", "backstory": "b"}},
    )
    sign_in(page, local_process.url, "vera")
    page.goto(f"{local_process.url}/#/w/{ws}/agents/{agent['id']}")
    expect(page.get_by_test_id("agent-name")).to_have_text("Read only")
    assert page.locator("[data-testid=pane-markdown] textarea").get_attribute("readonly") is not None
    assert page.get_by_test_id("publish-agent").count() == 0 and page.get_by_test_id("save-agent").count() == 0
    page.goto(f"{local_process.url}/#/w/{ws}/agents")
    expect(page.get_by_test_id("agent-row").first).to_be_visible()
    assert page.get_by_test_id("new-agent").count() == 0
    assert page.page_errors == []
