import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { OutputViewer } from "./OutputViewer";
import { FOLD_AT } from "../lib/outputView";

afterEach(cleanup);

describe("OutputViewer (run view)", () => {
  it("shows a list of objects as a tree, then as a table with a column per key, then raw", () => {
    // Given an http node's output holding a list of rows
    const output = { status: 200, items: [{ id: 1, name: "ada" }, { id: 2, name: "bob", extra: true }] };
    render(<OutputViewer value={output} testId="node-output" />);
    // Then the tree opens first and names the fields
    expect(screen.getByTestId("node-output").dataset.view).toBe("tree");
    expect(screen.getByTestId("node-output").textContent).toContain("status: 200");
    // When the table is chosen
    fireEvent.click(screen.getByTestId("view-table"));
    // Then each row is a table row under the union of the keys
    const table = screen.getByTestId("output-table");
    expect([...table.querySelectorAll("th")].map((th) => th.textContent)).toEqual(["id", "name", "extra"]);
    expect(table.querySelectorAll("tbody tr")).toHaveLength(2);
    // And raw is the indented JSON
    fireEvent.click(screen.getByTestId("view-raw"));
    expect(screen.getByTestId("node-output").querySelector("pre")?.textContent).toBe(JSON.stringify(output, null, 2));
  });

  it("opens on the best view of the value it shows now, not of the one it first showed", () => {
    // Given a viewer that first showed a plain string (only raw applies)
    const { rerender } = render(<OutputViewer value="loading" testId="node-output" />);
    expect(screen.getByTestId("node-output").dataset.view).toBe("raw");
    // When the node's object output arrives
    rerender(<OutputViewer value={{ text: "hello" }} testId="node-output" />);
    // Then it shows as a tree
    expect(screen.getByTestId("node-output").dataset.view).toBe("tree");
    // And a view the user picks sticks across values
    fireEvent.click(screen.getByTestId("view-raw"));
    rerender(<OutputViewer value={{ text: "bye" }} testId="node-output" />);
    expect(screen.getByTestId("node-output").dataset.view).toBe("raw");
  });

  it("folds a long string and unfolds it on request", () => {
    // Given an output with a long text
    const text = "word ".repeat(100);
    render(<OutputViewer value={{ text }} />);
    // Then only the head shows, with how much is hidden
    const more = screen.getByTestId("unfold");
    expect(more.textContent).toBe(`show ${text.length - FOLD_AT} more`);
    expect(document.body.textContent).not.toContain(JSON.stringify(text));
    // When unfolded, the whole string shows
    fireEvent.click(more);
    expect(document.body.textContent).toContain(JSON.stringify(text));
  });

  it("says what it has when there is no output, and offers no table for scalars", () => {
    render(<OutputViewer value={null} empty="No output yet" testId="node-output" />);
    expect(screen.getByTestId("node-output").textContent).toBe("No output yet");
    cleanup();
    render(<OutputViewer value={[1, 2, 3]} />);
    expect(screen.queryByTestId("view-table")).toBeNull();
    expect(screen.getByTestId("view-tree")).toBeTruthy();
  });
});
