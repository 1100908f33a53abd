// The editor's keyboard shortcut sheet, opened with `?` (outside text fields) or the toolbar's ⌨ button.
import { useEffect } from "react";
import { Modal } from "./ui";

export const SHORTCUTS: { keys: string[]; what: string }[] = [
  { keys: ["Ctrl/⌘", "S"], what: "Save the draft" },
  { keys: ["Ctrl/⌘", "Z"], what: "Undo" },
  { keys: ["Ctrl/⌘", "Shift", "Z"], what: "Redo (also Ctrl/⌘ Y)" },
  { keys: ["Ctrl/⌘", "C"], what: "Copy the selected nodes and the edges between them (as flow JSON)" },
  { keys: ["Ctrl/⌘", "V"], what: "Paste nodes, here or in another flow (ids are renamed when taken)" },
  { keys: ["Ctrl/⌘", "D"], what: "Duplicate the selected nodes" },
  { keys: ["Delete"], what: "Delete the selected nodes or edge (also Backspace)" },
  { keys: ["Shift", "drag"], what: "Select several nodes" },
  { keys: ["?"], what: "Show this sheet" },
  { keys: ["Esc"], what: "Close a dialog" },
];

/** Whether a key press belongs to a text field (where `?` is just a character). */
export function inTextField(target: EventTarget | null): boolean {
  return target instanceof Element && !!target.closest("input, textarea, select, [contenteditable], .cm-editor");
}

/** Opens the sheet on `?` typed outside text fields. */
export function useShortcutSheetKey(open: () => void): void {
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if (e.key === "?" && !e.ctrlKey && !e.metaKey && !e.altKey && !inTextField(e.target)) {
        e.preventDefault();
        open();
      }
    };
    window.addEventListener("keydown", on);
    return () => window.removeEventListener("keydown", on);
  }, [open]);
}

export function ShortcutSheet({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose}>
      <table className="shortcut-table" data-testid="shortcut-sheet">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.what}>
              <td className="nowrap">
                {s.keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 && " + "}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </td>
              <td>{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
