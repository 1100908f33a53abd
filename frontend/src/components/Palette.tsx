// The editor's node palette: node types grouped by category, a search box, drag or click (or Enter) to add.
import { useId, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { paletteGroups } from "../lib/palette";
import type { NodeType } from "../types";
import { TypeIcon } from "./nodeStyle";
import { Spinner } from "./ui";

/** The drag payload the canvas accepts: a node type name. */
export const DND_TYPE = "application/x-nexod-node-type";

/** Moves focus to the next or previous palette item (wrapping), from the search box or an item. */
function moveFocus(list: HTMLElement | null, from: Element | null, step: 1 | -1): void {
  const items = [...(list?.querySelectorAll<HTMLElement>(".palette-item") ?? [])];
  if (!items.length) return;
  const at = items.indexOf(from as HTMLElement);
  const next = at < 0 ? (step === 1 ? 0 : items.length - 1) : (at + step + items.length) % items.length;
  items[next].focus();
}

function PaletteItem({ t, onAdd }: { t: NodeType; onAdd: (type: string) => void }) {
  return (
    <div
      className="palette-item"
      role="button"
      tabIndex={0}
      draggable
      data-testid={`palette-${t.type}`}
      title={`${t.description}\n\nDrag onto the canvas, or click (or Enter) to add.`}
      onDragStart={(e) => {
        e.dataTransfer.setData(DND_TYPE, t.type);
        e.dataTransfer.effectAllowed = "move";
      }}
      onClick={() => onAdd(t.type)}
      onKeyDown={(e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          onAdd(t.type);
        }
      }}
    >
      <TypeIcon type={t.type} />
      <div className="palette-text">
        <div className="palette-name">{t.type}</div>
        <div className="palette-desc">{t.description.split(/(?<=\.)\s/)[0]}</div>
      </div>
    </div>
  );
}

export function Palette({ types, error, onAdd }: { types: NodeType[] | null; error: string | null; onAdd: (type: string) => void }) {
  const [query, setQuery] = useState("");
  const groups = useMemo(() => paletteGroups(types ?? [], query), [types, query]);
  const list = useRef<HTMLDivElement>(null);
  const search = useRef<HTMLInputElement>(null);
  const ids = useId();

  const onSearchKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      moveFocus(list.current, null, 1);
    } else if (e.key === "Enter" && groups.length) {
      e.preventDefault();
      onAdd(groups[0].types[0].type);
    } else if (e.key === "Escape" && query) {
      e.preventDefault();
      setQuery("");
    }
  };
  const onListKey = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      moveFocus(list.current, document.activeElement, e.key === "ArrowDown" ? 1 : -1);
    } else if (e.key === "Escape") {
      search.current?.focus();
    }
  };

  return (
    <aside className="palette" aria-label="Node palette">
      <div className="palette-head">
        <div className="palette-title">Nodes</div>
        <input
          ref={search}
          className="input input-sm"
          type="search"
          placeholder="Search…"
          aria-label="Search node types"
          title="Filter by name or description · ↓ to the list · Enter adds the first match"
          data-testid="palette-search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={onSearchKey}
        />
      </div>
      <div className="palette-list" ref={list} onKeyDown={onListKey}>
        {types === null && (error ? <div className="callout callout-error compact">Node types unavailable: {error}</div> : <Spinner />)}
        {types !== null && groups.length === 0 && (
          <div className="palette-empty" role="status" data-testid="palette-empty">
            {query.trim() ? <>No node type matches “{query.trim()}”.</> : "No node types."}
          </div>
        )}
        {groups.map((g, i) => (
          <div key={g.category} className="palette-group" role="group" aria-labelledby={`${ids}-${i}`}>
            <div className="palette-category" id={`${ids}-${i}`} data-testid="palette-category">
              {g.category}
            </div>
            {g.types.map((t) => (
              <PaletteItem key={t.type} t={t} onAdd={onAdd} />
            ))}
          </div>
        ))}
      </div>
      <div className="palette-tip" title="Ctrl+Z undo · Ctrl+Shift+Z redo · Ctrl+D duplicate · Ctrl+C / Ctrl+V copy and paste nodes as JSON · Ctrl+S save">Drag to the canvas, or click to insert after the selected node · <kbd>Del</kbd> removes</div>
    </aside>
  );
}
