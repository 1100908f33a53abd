import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { ShortcutSheet, SHORTCUTS, useShortcutSheetKey } from "./ShortcutSheet";
import { DefinitionDialog } from "./FlowDialogs";
import type { FlowDefinition } from "../types";

afterEach(cleanup);

function Editor() {
  const [open, setOpen] = useState(false);
  useShortcutSheetKey(() => setOpen(true));
  return (
    <>
      <input aria-label="name" />
      {open && <ShortcutSheet onClose={() => setOpen(false)} />}
    </>
  );
}

describe("the editor's shortcut sheet", () => {
  it("opens on ? outside text fields, lists every shortcut, and closes on Escape", () => {
    render(<Editor />);
    // When ? is typed in a text field, nothing opens
    fireEvent.keyDown(screen.getByLabelText("name"), { key: "?" });
    expect(screen.queryByTestId("shortcut-sheet")).toBeNull();
    // When ? is typed on the page
    fireEvent.keyDown(document.body, { key: "?" });
    // Then the sheet lists the shortcuts
    const sheet = screen.getByTestId("shortcut-sheet");
    expect(sheet.querySelectorAll("tr")).toHaveLength(SHORTCUTS.length);
    expect(sheet.textContent).toContain("Paste nodes");
    // And Escape closes it
    fireEvent.keyDown(window, { key: "Escape" });
    expect(screen.queryByTestId("shortcut-sheet")).toBeNull();
  });
});

describe("the flow JSON dialog (editor)", () => {
  const def: FlowDefinition = { nodes: [{ id: "input", type: "input", config: {} }], edges: [] };

  it("exports the flow as a .json file named after the flow", () => {
    // Given a download is observable
    const created: Blob[] = [];
    URL.createObjectURL = vi.fn((b: Blob) => {
      created.push(b);
      return "blob:x";
    }) as typeof URL.createObjectURL;
    URL.revokeObjectURL = vi.fn();
    const clicked: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.download);
    });
    render(<DefinitionDialog definition={def} editable name="My Demo Flow!" onClose={() => undefined} onApply={() => undefined} />);
    // When Export is clicked
    fireEvent.click(screen.getByTestId("export-json"));
    // Then a JSON file of the definition is offered under the flow's name
    expect(clicked).toEqual(["my-demo-flow.json"]);
    expect(created[0].type).toBe("application/json");
    click.mockRestore();
  });

  it("imports a .json file into the editor and applies it to the canvas", async () => {
    const applied: FlowDefinition[] = [];
    render(<DefinitionDialog definition={def} editable onClose={() => undefined} onApply={(d) => applied.push(d)} />);
    const imported: FlowDefinition = {
      nodes: [
        { id: "input", type: "input", config: {} },
        { id: "output", type: "output", config: {} },
      ],
      edges: [{ from: "input", to: "output" }],
    };
    // When a file is chosen
    const file = new File([JSON.stringify(imported)], "flow.json", { type: "application/json" });
    if (!file.text) file.text = async () => JSON.stringify(imported); // jsdom's File lacks Blob.text
    fireEvent.change(screen.getByTestId("import-json"), { target: { files: [file] } });
    await waitFor(() => expect((screen.getByLabelText("Flow definition JSON") as HTMLTextAreaElement).value).toContain("output"));
    // And applied
    fireEvent.click(screen.getByTestId("apply-json"));
    // Then the canvas receives the imported document
    expect(applied).toHaveLength(1);
    expect(applied[0].nodes.map((n) => n.id)).toEqual(["input", "output"]);
  });
});
