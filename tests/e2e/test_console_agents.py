"""The agents console in real Chromium: the dashboard, the spec editor's two panes kept in sync with errors
on their line, publishing two versions, their diff, and moving the live pointer back."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.support.api import Api

from .test_console import browser, page, playwright_sync, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e


def _demo(api: Api) -> str:
    return str(next(w["id"] for w in api.ok("GET", "/v1/me")["workspaces"] if w["name"] == "Demo"))


# The text of a CodeMirror pane: its EditorView's document (found from the DOM as EditorView.findFromDOM does),
# else the rendered lines (every line of a spec is rendered: it is shorter than the editor's viewport margin).
_DOC = """pane => {
  const content = pane.querySelector('.cm-content');
  const view = content.cmTile?.root?.view ?? content.cmView?.view;
  return view ? view.state.doc.toString() : [...content.querySelectorAll('.cm-line')].map(l => l.textContent).join('\\n');
}"""
# The 1-based lines that carry an error diagnostic (CodeMirror's lint underline inside the line).
_ERROR_LINES = """pane => [...pane.querySelectorAll('.cm-content > .cm-line')]
  .flatMap((line, i) => line.querySelector('.cm-lintRange-error') ? [i + 1] : [])"""


class Pane:
    """One CodeMirror pane of the spec editor, read and typed into as a user would (fill replaces its text)."""

    def __init__(self, pg: Any, testid: str) -> None:
        self.root = pg.get_by_test_id(testid)
        self.content = self.root.locator(".cm-content")

    def text(self) -> str:
        return str(self.root.evaluate(_DOC))

    def fill(self, text: str) -> None:
        self.content.fill(text)

    def replace(self, old: str, new: str) -> None:
        text = self.text()
        assert old in text, f"{old!r} not in the pane"
        self.fill(text.replace(old, new))

    def error_lines(self) -> list[int]:
        return [int(n) for n in self.root.evaluate(_ERROR_LINES)]

    def has_text(self, pattern: str, timeout_ms: int = 30_000) -> None:
        deadline = time.monotonic() + timeout_ms / 1000
        while not re.search(pattern, self.text()):
            assert time.monotonic() < deadline, f"{pattern!r} never appeared in:\n{self.text()}"
            time.sleep(0.1)


def test_member_edits_a_spec_in_both_forms_publishes_twice_diffs_and_rolls_back(page: Any, local_process: Any) -> None:  # noqa: F811
    expect = playwright_sync.expect
    ws = _demo(Api(local_process.url, local_process.token("alice")))
    # Given alice on the Agents page, creating a new agent
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/agents")
    page.get_by_test_id("new-agent").click()
    page.wait_for_url(re.compile(r".*/agents/[^/?]+$"))
    markdown = Pane(page, "pane-markdown")
    json_pane = Pane(page, "pane-json")
    markdown.has_text(r"^---\nname: New agent\n")
    json_pane.has_text(r'"name": "New agent"')

    # When she renames it in the markdown
    markdown.replace("name: New agent", "name: Fact checker")
    # Then the JSON pane follows
    json_pane.has_text(r'"name": "Fact checker"')

    # When she breaks a front matter value
    markdown.replace("max_iterations: 15", "max_iterations: many")
    # Then line 7 carries the error diagnostic, and the error names the line and section; JSON keeps the spec
    expect(page.get_by_test_id("pane-markdown-errors")).to_contain_text("line 7 (front matter): max_iterations")
    expect(page.locator("[data-testid=pane-markdown] .cm-lintRange-error")).to_have_count(1)
    assert markdown.error_lines() == [7]
    assert page.locator("[data-testid=pane-markdown] .cm-gutter-lint .cm-lint-marker-error").count() == 1
    expect(page.get_by_test_id("publish-agent")).to_be_disabled()
    json_pane.has_text(r'"max_iterations": 15')
    page.screenshot(path="/tmp/nexod_console_agent_editor_error.png")
    markdown.replace("max_iterations: many", "max_iterations: 5")
    expect(page.get_by_test_id("pane-markdown-status")).to_have_text("valid")
    expect(page.locator("[data-testid=pane-markdown] .cm-lintRange-error")).to_have_count(0)
    json_pane.has_text(r'"max_iterations": 5')

    # When she edits the JSON side: a bad value, then a good one
    json_pane.replace('"memory": "none"', '"memory": "forever"')
    expect(page.get_by_test_id("pane-json-errors")).to_contain_text("spec.memory")
    bad_line = next(i for i, line in enumerate(json_pane.text().split("\n"), 1) if '"memory"' in line)
    expect(page.locator("[data-testid=pane-json] .cm-lintRange-error")).to_have_count(1)
    assert json_pane.error_lines() == [bad_line]
    # And JSON that does not parse is marked on the line where it breaks, without asking the API
    broken = json_pane.text().replace('"memory": "forever",', '"memory": "forever"')
    json_pane.fill(broken)
    expect(page.get_by_test_id("pane-json-errors")).to_contain_text("not valid JSON")
    assert json_pane.error_lines() == [bad_line + 1]
    json_pane.fill(broken.replace('"memory": "forever"', '"memory": "run",'))
    # Then the markdown follows
    markdown.has_text(r"\nmemory: run\n")

    # When she publishes, edits the goal and publishes again
    page.get_by_test_id("publish-agent").click()
    expect(page.get_by_test_id("agent-live-version")).to_have_text("live: v1")
    markdown.replace("citing your sources.", "citing two sources.")
    json_pane.has_text(r"citing two sources")
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
    expect(page.locator("[data-testid=pane-markdown] .cm-content")).to_have_attribute("contenteditable", "false")
    assert page.get_by_test_id("publish-agent").count() == 0 and page.get_by_test_id("save-agent").count() == 0
    page.goto(f"{local_process.url}/#/w/{ws}/agents")
    expect(page.get_by_test_id("agent-row").first).to_be_visible()
    assert page.get_by_test_id("new-agent").count() == 0
    assert page.page_errors == []


def _agent(api: Api, ws: str, name: str, goals: list[str]) -> dict[str, Any]:
    """An agent published once per goal (v1, v2, ...), the last version live."""
    agent = api.ok(
        "POST", f"/v1/workspaces/{ws}/agents", {"spec": {"name": name, "role": "r", "goal": goals[0], "backstory": "b"}}
    )
    for goal in goals:
        api.ok(
            "PUT",
            f"/v1/workspaces/{ws}/agents/{agent['id']}",
            {"spec": {"name": name, "role": "r", "goal": goal, "backstory": "b"}},
        )
        api.ok("POST", f"/v1/workspaces/{ws}/agents/{agent['id']}/versions", {})
    return dict(agent)


def _require_agent_kinds(api: Api) -> None:
    kinds = {t["type"] for t in api.ok("GET", "/v1/node-types")["items"]}
    assert {"agent", "crew"} <= kinds, f"the palette lacks the agent kinds: {sorted(kinds)}"


def test_member_builds_a_crew_node_from_the_workspace_agents(page: Any, local_process: Any) -> None:  # noqa: F811
    expect = playwright_sync.expect
    alice = Api(local_process.url, local_process.token("alice"))
    _require_agent_kinds(alice)
    ws = _demo(alice)
    suffix = f"{int(time.time() * 1000) % 100000}"
    scout = _agent(alice, ws, f"Scout {suffix}", ["find facts", "find facts, cite them"])
    writer = _agent(alice, ws, f"Writer {suffix}", ["write it up"])

    # Given alice in a new flow, adding a crew node after the input from the palette
    sign_in(page, local_process.url, "alice")
    page.get_by_test_id("new-flow").click()
    page.locator("#flow-name").fill(f"E2E crew {suffix}")
    page.get_by_role("button", name="Create and open").click()
    page.locator(".fnode[data-node-id=input]").click()
    page.get_by_test_id("palette-crew").click()
    page.locator(".fnode[data-node-id=crew_1]").click()
    form = page.get_by_test_id("crew-node-form")
    expect(form).to_be_visible()

    # When she adds both agents by name, and pins the scout to v1
    add = form.get_by_test_id("crew-add-agent")
    add.select_option(label=f"Scout {suffix}")
    add.select_option(label=f"Writer {suffix}")
    members = form.get_by_test_id("crew-member")
    expect(members).to_have_count(2)
    assert [members.nth(i).get_attribute("data-key") for i in range(2)] == [f"scout_{suffix}", f"writer_{suffix}"]
    versions = members.nth(0).get_by_test_id("crew-member-version")
    assert versions.locator("option").all_text_contents() == ["live (now v2)", "v2 · live", "v1"]
    versions.select_option("1")
    # And renames the writer's key
    key = members.nth(1).get_by_test_id("crew-member-key")
    key.fill("writer")
    key.press("Enter")

    # And adds two tasks: research by the scout, then the write-up by the writer, reading the research
    form.get_by_test_id("crew-add-task").click()
    tasks = form.get_by_test_id("crew-task")
    task_id = tasks.nth(0).get_by_test_id("crew-task-id")
    task_id.fill("research")
    task_id.press("Enter")
    # (task texts are template fields: code editors with completions, like every other template field)
    description = tasks.nth(0).get_by_test_id("expr-crew-task-description").locator(".cm-content")
    description.fill("Research {{ input.topic }}")
    form.get_by_test_id("crew-add-task").click()
    tasks.nth(1).get_by_test_id("crew-task-agent").select_option("writer")
    tasks.nth(1).get_by_test_id("expr-crew-task-description").locator(".cm-content").fill(
        "Write a paragraph from the research"
    )
    tasks.nth(1).get_by_test_id("expr-crew-task-expected").locator(".cm-content").fill("One paragraph")
    expect(tasks.nth(1).get_by_test_id("crew-task-context").locator("input[type=checkbox]")).to_be_checked()

    # Then the form finds nothing to refuse, the API's validation accepts the node, and the flow saves
    expect(form.get_by_test_id("crew-problems")).to_have_count(0)
    page.locator(".fnode[data-node-id=crew_1]:not(.has-issues)").wait_for()
    page.get_by_test_id("save").click()
    page.get_by_test_id("toast-success").filter(has_text="saved").first.wait_for()
    flow_id = page.url.rstrip("/").split("/")[-1]
    node = next(
        n for n in alice.ok("GET", f"/v1/workspaces/{ws}/flows/{flow_id}")["definition"]["nodes"] if n["id"] == "crew_1"
    )
    assert node["config"]["agents"] == [
        {"key": f"scout_{suffix}", "agent": scout["id"], "version": 1},
        {"key": "writer", "agent": writer["id"], "version": "live"},
    ]
    assert [(t["id"], t["agent"], t.get("context")) for t in node["config"]["tasks"]] == [
        ("research", f"scout_{suffix}", []),
        ("task_2", "writer", ["research"]),
    ]
    assert [(t["description"], t.get("expected_output")) for t in node["config"]["tasks"]] == [
        ("Research {{ input.topic }}", "A complete answer."),
        ("Write a paragraph from the research", "One paragraph"),
    ]
    page.screenshot(path="/tmp/nexod_console_crew_node.png")
    assert page.page_errors == []


def test_the_run_view_shows_an_agent_nodes_steps_and_usage(page: Any, local_process: Any) -> None:  # noqa: F811
    expect = playwright_sync.expect
    alice = Api(local_process.url, local_process.token("alice"))
    _require_agent_kinds(alice)
    ws = _demo(alice)
    agent = _agent(alice, ws, f"Summariser {int(time.time() * 1000) % 100000}", ["summarise the topic"])
    # Given a published flow input -> agent -> output
    definition = {
        "nodes": [
            {"id": "input", "type": "input", "config": {}},
            {
                "id": "ask",
                "type": "agent",
                "config": {
                    "agent": agent["id"],
                    "version": "live",
                    "task": "Summarise {{ input.topic }}",
                    "expected_output": "One sentence.",
                },
            },
            {"id": "output", "type": "output", "config": {}},
        ],
        "edges": [{"from": "input", "to": "ask"}, {"from": "ask", "to": "output"}],
    }
    flow = alice.ok(
        "POST", f"/v1/workspaces/{ws}/flows", {"name": f"E2E agent steps {agent['id'][:8]}", "definition": definition}
    )
    alice.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/versions", {})
    run = alice.ok("POST", f"/v1/workspaces/{ws}/flows/{flow['id']}/runs", {"input": {"topic": "tides"}})

    # When alice opens the run and the agent node
    sign_in(page, local_process.url, "alice")
    page.goto(f"{local_process.url}/#/w/{ws}/runs/{run['id']}")
    page.locator(".fnode[data-node-id=ask]").click()
    # Then its agent's steps appear as the runner reports them (the offline model may not finish the task)
    timeline = page.get_by_test_id("agent-timeline")
    expect(timeline).to_have_count(1, timeout=120_000)
    expect(timeline.get_by_test_id("agent-step").first).to_be_visible()
    # And once the run has ended, a succeeded node shows its per-agent tokens and cost
    ended = ", ".join(f"[data-testid=run-status] [data-status={s}]" for s in ("SUCCEEDED", "FAILED"))
    page.locator(ended).wait_for(timeout=120_000)
    if page.locator("[data-testid=run-status] [data-status=SUCCEEDED]").count():
        page.locator(".fnode[data-node-id=ask]").click()
        expect(timeline.locator("[data-step=final_answer]")).to_have_count(1)
        expect(page.get_by_test_id("agent-usage-row")).to_have_count(1)
    page.screenshot(path="/tmp/nexod_console_agent_steps.png")
    # And the agents dashboard shows that run as the agent's newest status dot, linked to the run
    page.goto(f"{local_process.url}/#/w/{ws}/agents")
    row = page.get_by_test_id("agent-row").filter(has_text=agent["name"])
    dot = row.get_by_test_id("agent-last-run").first
    expect(dot).to_have_attribute("href", re.compile(f"/runs/{run['id']}$"))
    assert page.page_errors == []
