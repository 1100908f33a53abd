// Dialogs of the flow editor: run input, publish, and the versions drawer with ASL viewer.
import { useCallback, useEffect, useState } from "react";
import { api, errorMessage } from "../lib/api";
import { parseDocument } from "../lib/canvasOps";
import { download, fileSlug } from "../lib/download";
import { VersionDiffDialog } from "./VersionDiff";
import { absTime, relTime } from "../lib/format";
import type { Flow, FlowDefinition, FlowVersion, FlowVersionSummary } from "../types";
import { useToast } from "./Toasts";
import { Drawer, Empty, ErrorState, JsonView, Modal, Spinner } from "./ui";

export function RunDialog({
  flow,
  initialInput,
  dirty,
  initialVersion,
  onClose,
  onStart,
}: {
  flow: Flow;
  initialInput: unknown;
  dirty: boolean;
  initialVersion?: number;
  onClose: () => void;
  onStart: (input: unknown, version?: number) => Promise<void>;
}) {
  const [text, setText] = useState(() => JSON.stringify(initialInput ?? {}, null, 2));
  const [version, setVersion] = useState<string>(initialVersion ? String(initialVersion) : "");
  const [busy, setBusy] = useState(false);
  let parsed: unknown = undefined;
  let error: string | null = null;
  try {
    parsed = JSON.parse(text);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) error = "The run input must be a JSON object.";
  } catch (e) {
    error = `Invalid JSON: ${(e as Error).message}`;
  }
  const versions = Array.from({ length: flow.latest_version ?? 0 }, (_, i) => (flow.latest_version ?? 0) - i);
  const noVersion = !flow.live_version && !version;
  return (
    <Modal
      title={`Run ${flow.name}`}
      onClose={onClose}
      footer={
        <>
          <button className="btn" onClick={onClose}>Cancel</button>
          <button
            className="btn btn-primary"
            data-testid="start-run"
            disabled={!!error || busy || noVersion}
            onClick={async () => {
              setBusy(true);
              try {
                await onStart(parsed, version ? Number(version) : undefined);
              } finally {
                setBusy(false);
              }
            }}
          >
            {busy ? "Starting…" : "Start run"}
          </button>
        </>
      }
    >
      {noVersion && <div className="callout callout-warn">This flow has no published version yet. Publish it first: runs always execute a published version.</div>}
      {dirty && !noVersion && <div className="callout callout-info">You have unsaved changes. Runs use a published version, not the draft.</div>}
      <div className="field">
        <label className="field-label" htmlFor="run-version">Version</label>
        <select id="run-version" className="input" value={version} onChange={(e) => setVersion(e.target.value)}>
          <option value="">{flow.live_version ? `Live (v${flow.live_version})` : "Live (none)"}</option>
          {versions.map((v) => (
            <option key={v} value={v}>v{v}{v === flow.live_version ? " (live)" : ""}</option>
          ))}
        </select>
      </div>
      <div className="field">
        <label className="field-label" htmlFor="run-input">Input (JSON)</label>
        <textarea id="run-input" className={`input mono ${error ? "invalid" : ""}`} rows={10} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} />
        {error ? <div className="field-error">{error}</div> : <div className="field-help">Prefilled from the input node's example. Available to nodes as <code>{"{{ input.… }}"}</code>.</div>}
      </div>
    </Modal>
  );
}

export function PublishDialog({ flow, dirty, onClose, onPublish }: { flow: Flow; dirty: boolean; onClose: () => void; onPublish: (description: string) => Promise<void> }) {
  const [description, setDescription] = useState("");
  const [busy, setBusy] = useState(false);
  const next = (flow.latest_version ?? 0) + 1;
  return (
    <Modal
      title={`Publish v${next}`}
      onClose={onClose}
      footer={
        <>
          <button className="btn" onClick={onClose}>Cancel</button>
          <button
            className="btn btn-primary"
            data-testid="confirm-publish"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await onPublish(description.trim());
              } finally {
                setBusy(false);
              }
            }}
          >
            {busy ? "Publishing…" : dirty ? "Save and publish" : "Publish"}
          </button>
        </>
      }
    >
      <p className="muted">
        Publishing compiles the draft to Amazon States Language, stores it as immutable version <b>v{next}</b> and points
        <b> live</b> at it. New runs use the live version; you can roll back from the versions panel.
      </p>
      {dirty && <div className="callout callout-info">Unsaved changes will be saved first.</div>}
      <div className="field">
        <label className="field-label" htmlFor="pub-desc">What changed</label>
        <input id="pub-desc" className="input" autoFocus value={description} onChange={(e) => setDescription(e.target.value)} placeholder="optional, e.g. Retry the fetch step" />
      </div>
    </Modal>
  );
}

export function VersionViewer({ ws, flowId, version, onClose }: { ws: string; flowId: string; version: number; onClose: () => void }) {
  const [v, setV] = useState<FlowVersion | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState<"asl" | "definition">("asl");
  useEffect(() => {
    api.getVersion(ws, flowId, version).then(setV, (e) => setError(errorMessage(e)));
  }, [ws, flowId, version]);
  return (
    <Modal title={`Version ${version}`} onClose={onClose} wide>
      {error ? (
        <ErrorState title="Could not load the version" message={error} />
      ) : !v ? (
        <Spinner />
      ) : (
        <>
          <div className="seg">
            <button className={tab === "asl" ? "on" : ""} onClick={() => setTab("asl")}>State machine (ASL)</button>
            <button className={tab === "definition" ? "on" : ""} onClick={() => setTab("definition")}>Flow definition</button>
          </div>
          <div className="muted small version-meta">
            Published {absTime(v.created_at)}{v.created_by ? ` by ${v.created_by}` : ""}{v.description ? ` — ${v.description}` : ""}
          </div>
          <div data-testid="asl-view">
            <JsonView value={tab === "asl" ? v.asl : v.definition} maxHeight={520} />
          </div>
        </>
      )}
    </Modal>
  );
}

export function VersionsDrawer({
  ws,
  flow,
  editable,
  onClose,
  onChanged,
  onLoadDraft,
  onRunVersion,
}: {
  ws: string;
  flow: Flow;
  editable: boolean;
  onClose: () => void;
  onChanged: () => void;
  onLoadDraft: (def: FlowDefinition, version: number) => void;
  onRunVersion: (version: number) => void;
}) {
  const toast = useToast();
  const [items, setItems] = useState<FlowVersionSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [viewing, setViewing] = useState<number | null>(null);
  const [comparing, setComparing] = useState<{ from: number | "draft"; to: number | "draft" } | null>(null);
  const load = useCallback(() => {
    setError(null);
    api.listVersions(ws, flow.id).then((r) => setItems(r.items), (e) => setError(errorMessage(e)));
  }, [ws, flow.id]);
  useEffect(load, [load, flow.live_version, flow.latest_version]);

  const setLive = async (n: number) => {
    try {
      await api.setLive(ws, flow.id, n);
      toast.success(`v${n} is now live`, "New runs will use this version.");
      onChanged();
      load();
    } catch (e) {
      toast.error("Could not change the live version", errorMessage(e));
    }
  };
  const loadDraft = async (n: number) => {
    try {
      const v = await api.getVersion(ws, flow.id, n);
      if (v.definition) onLoadDraft(v.definition, n);
    } catch (e) {
      toast.error("Could not load the version", errorMessage(e));
    }
  };

  return (
    <Drawer title="Versions" onClose={onClose}>
      {error ? (
        <ErrorState title="Could not load versions" message={error} onRetry={load} />
      ) : !items ? (
        <Spinner />
      ) : items.length === 0 ? (
        <Empty title="Not published yet">Publish the flow to create version 1. Versions are immutable and each compiles to a Step Functions state machine version.</Empty>
      ) : (
        <ul className="versions">
          {items.map((v) => {
            const live = v.is_live ?? v.version === flow.live_version;
            return (
              <li key={v.version} className={`version ${live ? "is-live" : ""}`} data-testid={`version-${v.version}`}>
                <div className="version-top">
                  <span className="version-n">v{v.version}</span>
                  {live && <span className="pill pill-live">live</span>}
                  <span className="spacer" />
                  <span className="muted small" title={absTime(v.created_at)}>{relTime(v.created_at)}</span>
                </div>
                <div className="version-desc">{v.description || <span className="muted">No description</span>}</div>
                {v.created_by && <div className="muted small">by {v.created_by}</div>}
                <div className="version-actions">
                  <button className="btn btn-sm" onClick={() => setViewing(v.version)}>View ASL</button>
                  {v.version > 1 && (
                    <button className="btn btn-sm" onClick={() => setComparing({ from: v.version - 1, to: v.version })} data-testid={`diff-${v.version}`} title={`What changed from v${v.version - 1}`}>
                      Diff v{v.version - 1}
                    </button>
                  )}
                  <button className="btn btn-sm btn-ghost" onClick={() => setComparing({ from: v.version, to: "draft" })} title="What the draft changes">Diff draft</button>
                  {editable && !live && <button className="btn btn-sm" onClick={() => void setLive(v.version)}>Set live</button>}
                  {editable && <button className="btn btn-sm btn-ghost" onClick={() => onRunVersion(v.version)}>Run</button>}
                  {editable && <button className="btn btn-sm btn-ghost" onClick={() => void loadDraft(v.version)}>Load into draft</button>}
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {comparing && <VersionDiffDialog ws={ws} flowId={flow.id} from={comparing.from} to={comparing.to} onClose={() => setComparing(null)} />}
      {viewing !== null && <VersionViewer ws={ws} flowId={flow.id} version={viewing} onClose={() => setViewing(null)} />}
    </Drawer>
  );
}

/** The whole flow document as JSON: read it, copy it, or (editors) paste a new one and apply it to the canvas. */
export function DefinitionDialog({
  definition,
  editable,
  name = "flow",
  onClose,
  onApply,
}: {
  definition: FlowDefinition;
  editable: boolean;
  /** The flow's name: the exported file is named after it. */
  name?: string;
  onClose: () => void;
  onApply: (def: FlowDefinition) => void;
}) {
  const [text, setText] = useState(() => JSON.stringify(definition, null, 2));
  const { doc: parsed, error } = parseDocument(text);
  return (
    <Modal
      title="Flow definition (JSON)"
      onClose={onClose}
      wide
      footer={
        <>
          <button className="btn" onClick={() => void navigator.clipboard?.writeText(text)}>Copy</button>
          <button className="btn" onClick={() => download(`${fileSlug(name)}.json`, text)} data-testid="export-json" title="Download the flow as a .json file">
            Export .json
          </button>
          {editable && (
            <label className="btn" title="Load a flow .json file into this editor (then Apply)">
              Import .json
              <input
                type="file"
                accept=".json,application/json"
                hidden
                data-testid="import-json"
                onChange={(e) => {
                  const file = e.target.files?.[0];
                  if (file) void file.text().then(setText);
                  e.target.value = "";
                }}
              />
            </label>
          )}
          <span className="spacer" />
          <button className="btn" onClick={onClose}>{editable ? "Cancel" : "Close"}</button>
          {editable && (
            <button className="btn btn-primary" disabled={!parsed} onClick={() => parsed && onApply(parsed)} data-testid="apply-json">
              Apply to canvas
            </button>
          )}
        </>
      }
    >
      <p className="muted small">
        The document the API stores and compiles: <code>{"{nodes: [{id, type, config, …}], edges: [{from, to, condition?}]}"}</code>.
        {editable ? " Applying replaces the canvas; save to keep it." : ""}
      </p>
      <textarea
        className={`input mono ${error ? "invalid" : ""}`}
        rows={24}
        spellCheck={false}
        readOnly={!editable}
        value={text}
        aria-label="Flow definition JSON"
        onChange={(e) => setText(e.target.value)}
      />
      {error && <div className="field-error">{error}</div>}
    </Modal>
  );
}
