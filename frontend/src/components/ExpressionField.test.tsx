import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { QueryClientProvider } from "@tanstack/react-query";
import { CompletionContext, currentCompletions, startCompletion } from "@codemirror/autocomplete";
import { forEachDiagnostic } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { SchemaForm } from "./SchemaForm";
import { expressionSource } from "./expressionSource";
import { buildScope, ExpressionScopeContext, type ExpressionScope } from "../editor/expressionScope";
import { knownPaths } from "../lib/completions";
import { makeQueryClient } from "../lib/query";
import type { FlowDefinition, JsonSchema, NodeType } from "../types";

// A draft: start -> fetch (http) -> notify (http) -> later; the panel is notify's. The last run ran all four.
const definition: FlowDefinition = {
  nodes: [
    { id: "start", type: "input" },
    { id: "fetch", type: "http", config: { url: "https://example.org" } },
    { id: "notify", type: "http", config: { url: "" } },
    { id: "later", type: "transform", config: { expression: "input" } },
  ],
  edges: [
    { from: "start", to: "fetch" },
    { from: "fetch", to: "notify" },
    { from: "notify", to: "later" },
  ],
} as FlowDefinition;
const httpType = {
  type: "http",
  output_schema: { type: "object", properties: { status: { type: "integer" }, body: {} } },
} as unknown as NodeType;
const scope: ExpressionScope = buildScope({
  ws: "ws-1",
  flowId: "f-1",
  nodeId: "notify",
  upstream: ["fetch", "start"],
  definition,
  typeOf: (t) => (t === "http" ? httpType : undefined),
  last: {
    run: { id: "run-7", number: 7, test: true, input: { city: "Oslo" } } as never,
    outputs: { start: { city: "Oslo" }, fetch: { status: 200, body: { items: [{ title: "t" }] } }, later: { x: 1 } },
  },
});
const HTTP_SCHEMA: JsonSchema = {
  type: "object",
  properties: { url: { type: "string" }, method: { type: "string", enum: ["GET", "POST"] } },
  required: ["url"],
};

let requests: { path: string; body: Record<string, unknown> }[] = [];

// jsdom lays nothing out: CodeMirror's measuring asks a Range for rectangles, which jsdom's Range lacks.
Range.prototype.getClientRects ??= () => [] as unknown as DOMRectList;
Range.prototype.getBoundingClientRect ??= () => new DOMRect(0, 0, 0, 0);

beforeEach(() => {
  requests = [];
  vi.stubGlobal("fetch", async (path: string, init: RequestInit = {}) => {
    const body = init.body ? JSON.parse(String(init.body)) : {};
    requests.push({ path, body });
    if (path === "/v1/workspaces/ws-1/flows/f-1/preview") {
      if (String(body.text).includes("nope"))
        return new Response(JSON.stringify({ error: { code: "invalid_input", message: "text: '{{ nodes.fetch.output.nope }}': 'nope' not found", details: { field: "text" } } }), { status: 422 });
      return new Response(JSON.stringify({ value: `https://hooks.example/${200}`, run: "run-7", run_number: 7, truncated: false }), { status: 200 });
    }
    return new Response(JSON.stringify({ error: { code: "not_found", message: path, details: null } }), { status: 404 });
  });
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function renderForm(config: Record<string, unknown>, fieldIssues: Record<string, string[]> = {}) {
  const onChange = vi.fn();
  render(
    <QueryClientProvider client={makeQueryClient()}>
      <ExpressionScopeContext.Provider value={scope}>
        <SchemaForm schema={HTTP_SCHEMA} templated={["url"]} config={config} readOnly={false} fieldIssues={fieldIssues} onChange={onChange} />
      </ExpressionScopeContext.Provider>
    </QueryClientProvider>,
  );
  return onChange;
}

async function editorOf(label: string): Promise<EditorView> {
  const content = await screen.findByLabelText(label, {}, { timeout: 5000 });
  const view = EditorView.findFromDOM(content as HTMLElement);
  expect(view).not.toBeNull();
  return view!;
}

describe("ExpressionField in a node's form", () => {
  it("renders a templated field as a code editor named by its label, and offers the upstream nodes after `{{ nodes.`", async () => {
    const onChange = renderForm({ url: "" });
    const view = await editorOf("Url");
    expect(view.contentDOM.getAttribute("data-mode")).toBe("template");
    // When the builder types `{{ nodes.` and asks for completions
    view.dispatch({ changes: { from: 0, insert: "{{ nodes." }, selection: { anchor: 9 }, userEvent: "input.type" });
    startCompletion(view);
    // Then the upstream nodes are offered, never the downstream one the last run also ran
    await waitFor(() => expect(currentCompletions(view.state).map((c) => c.label)).toEqual(["fetch", "start"]), { timeout: 3000 });
    expect(onChange).toHaveBeenLastCalledWith({ url: "{{ nodes." });
  });

  it("completes a node's output paths from its kind's schema merged with the last run's output", () => {
    const source = expressionSource("template", () => knownPaths(scope.sources, "template"));
    const at = (doc: string) => {
      const state = EditorState.create({ doc });
      return source(new CompletionContext(state, doc.length, true));
    };
    const r = at("Bearer {{ nodes.fetch.output.")!;
    expect(r.options.map((o) => o.label)).toEqual(["body", "status"]);
    expect(r.from).toBe("Bearer {{ nodes.fetch.output.".length);
    const deep = at("{{ nodes.fetch.output.body.items[0].")!;
    expect(deep.options.map((o) => o.label)).toEqual(["title"]);
    expect(at("{{ nodes.later.")).toBeNull();
    expect(at("no template here")).toBeNull();
    // An expression field sees the same data, without secrets
    const jp = expressionSource("jmespath", () => knownPaths(scope.sources, "jmespath"));
    const roots = jp(new CompletionContext(EditorState.create({ doc: "" }), 0, true))!;
    expect(roots.options.map((o) => o.label)).toEqual(["input", "nodes", "run"]);
  });

  it("shows the server's problem of the field as a lint diagnostic on its tag and as an alert under it", async () => {
    const problem = "node 'notify' config.url: '{{ nodes.later.output }}' reads node 'later' which is not upstream of 'notify'";
    renderForm({ url: "https://x/{{ nodes.later.output }}" }, { url: [problem] });
    const view = await editorOf("Url");
    expect(screen.getByRole("alert")).toHaveProperty("textContent", problem);
    const found: { from: number; to: number; message: string }[] = [];
    forEachDiagnostic(view.state, (d, from, to) => found.push({ from, to, message: d.message }));
    expect(found).toEqual([{ from: "https://x/".length, to: "https://x/{{ nodes.later.output }}".length, message: problem }]);
  });

  it("previews the text rendered by the server against the last run, and the server's error when it fails there", async () => {
    renderForm({ url: "https://hooks.example/{{ nodes.fetch.output.status }}" });
    const preview = await screen.findByTestId("preview-url", {}, { timeout: 3000 });
    await waitFor(() => expect(preview.textContent).toContain("https://hooks.example/200"), { timeout: 3000 });
    expect(preview.textContent).toContain("test run #7");
    expect(requests[requests.length - 1].body).toEqual({
      node: "notify",
      text: "https://hooks.example/{{ nodes.fetch.output.status }}",
      kind: "template",
      json: false,
      edge: false,
      run: "run-7",
    });
    cleanup();
    renderForm({ url: "{{ nodes.fetch.output.nope }}" });
    const failed = await screen.findByTestId("preview-url", {}, { timeout: 3000 });
    await waitFor(() => expect(failed.textContent).toContain("'nope' not found"), { timeout: 3000 });
  });
});
