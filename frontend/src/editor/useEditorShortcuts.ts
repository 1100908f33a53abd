// The editor's keyboard: Ctrl/Cmd+S saves (also from a text field), Ctrl/Cmd+Z undoes, Ctrl/Cmd+Shift+Z or
// Ctrl/Cmd+Y redoes, Ctrl/Cmd+D duplicates the selected nodes, and Ctrl/Cmd+C / Ctrl/Cmd+V copy and paste nodes
// as flow JSON. Outside of Save they leave text fields to the browser. Delete and arrow keys are React Flow's.
import { useEffect, useRef } from "react";
import { useHotkeys, type Options } from "react-hotkeys-hook";
import { parseDocument } from "../lib/canvasOps";
import type { FlowDefinition } from "../types";

export interface EditorKeys {
  editable: boolean;
  save: () => void;
  undo: () => void;
  redo: () => void;
  duplicate: () => void;
  /** The selection as a flow document, or null when nothing is selected. */
  copy: () => FlowDefinition | null;
  paste: (doc: FlowDefinition) => void;
}

// Both Ctrl and Cmd on every platform, as before; `useKey` follows the letter typed, not the key's place,
// so the shortcuts work on AZERTY and Dvorak too.
const both = (combo: string) => [`ctrl+${combo}`, `meta+${combo}`];
const OUTSIDE_FIELDS: Options = { useKey: true, preventDefault: true };

/** Whether a clipboard event belongs to a text field or a text selection rather than to the canvas. */
function isTextClipboard(e: ClipboardEvent): boolean {
  const target = e.target instanceof Element ? e.target : null;
  if (target?.closest("input, textarea, select, [contenteditable]")) return true;
  return !!document.getSelection()?.toString();
}

export function useEditorShortcuts(keys: EditorKeys): void {
  const { editable } = keys;
  // The callbacks change on every render (a drag renders each frame); reading the latest through a ref keeps
  // the listeners in place instead of re-adding them each time.
  const latest = useRef(keys);
  latest.current = keys;
  const on = { ...OUTSIDE_FIELDS, enabled: editable };
  // Saving is always caught so the browser never offers to save the page; a viewer's Ctrl+S does nothing.
  useHotkeys(both("s"), () => editable && latest.current.save(), { ...OUTSIDE_FIELDS, enableOnFormTags: true, enableOnContentEditable: true }, [editable]);
  useHotkeys(both("z"), () => latest.current.undo(), on, []);
  useHotkeys([...both("shift+z"), ...both("y")], () => latest.current.redo(), on, []);
  useHotkeys(both("d"), () => latest.current.duplicate(), on, []);

  // The clipboard events, unlike key presses, let a page read and write the clipboard without a permission
  // prompt.
  useEffect(() => {
    if (!editable) return;
    const onCopy = (e: ClipboardEvent) => {
      if (isTextClipboard(e) || !e.clipboardData) return;
      const doc = latest.current.copy();
      if (!doc) return;
      e.clipboardData.setData("text/plain", JSON.stringify(doc, null, 2));
      e.preventDefault();
    };
    const onPaste = (e: ClipboardEvent) => {
      if (isTextClipboard(e) || !e.clipboardData) return;
      const { doc } = parseDocument(e.clipboardData.getData("text/plain"));
      if (!doc) return; // any other text is not meant for the canvas
      e.preventDefault();
      latest.current.paste(doc);
    };
    document.addEventListener("copy", onCopy);
    document.addEventListener("paste", onPaste);
    return () => {
      document.removeEventListener("copy", onCopy);
      document.removeEventListener("paste", onPaste);
    };
  }, [editable]);
}
