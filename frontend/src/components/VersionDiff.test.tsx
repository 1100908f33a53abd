import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { DiffTable } from "./VersionDiff";
import type { VersionDiff } from "../lib/contract13";

afterEach(cleanup);

describe("DiffTable (versions diff side by side)", () => {
  it("puts the older value on the left and the newer on the right, with added and removed nodes and edges", () => {
    // Given v1 → v2: the llm prompt changed, a transform added, the old output edge replaced
    const diff: VersionDiff = {
      from: 1,
      to: 2,
      nodes: {
        added: [{ id: "shape", type: "transform", config: {} }],
        removed: [],
        changed: [{ id: "llm", type: "llm", fields: [{ path: "config.prompt", before: "Say hi", after: "Say hello to {{ input.name }}" }] }],
      },
      edges: { added: [{ from: "llm", to: "shape" }], removed: [{ from: "llm", to: "output" }] },
      settings: [],
    };
    render(<DiffTable diff={diff} />);
    const table = screen.getByTestId("version-diff");
    // Then the headers name the two versions
    expect([...table.querySelectorAll("th")].map((t) => t.textContent)).toEqual(["", "v1", "v2"]);
    // And the changed field reads before | after in its row
    const row = [...table.querySelectorAll("tr.diff-changed")][0];
    expect([...row.querySelectorAll("td")].map((t) => t.textContent)).toEqual(["llm.config.prompt", "Say hi", "Say hello to {{ input.name }}"]);
    expect(screen.getByTestId("diff-node-added").textContent).toContain("transform added");
    expect(table.textContent).toContain("llm → output");
    expect(table.textContent).toContain("llm → shape");
  });

  it("says when two versions are the same flow", () => {
    render(<DiffTable diff={{ from: 2, to: "draft", nodes: { added: [], removed: [], changed: [] }, edges: { added: [], removed: [] }, settings: [] }} />);
    expect(screen.getByTestId("diff-empty").textContent).toContain("v2 and Draft are the same flow");
  });
});
