// The flow editor's toolbar: where the flow is, whether it is saved and valid, and what can be done with it.
import { relTime } from "../lib/format";
import { paths } from "../lib/router";
import type { Busy } from "../editor/useFlowActions";
import type { Validity } from "../editor/useLiveValidation";
import type { Flow } from "../types";

export type EditorDialog = "run" | "publish" | "versions" | "json" | "shortcuts" | "test-run";

function ValidityButton({ validity, problems, onClick }: { validity: NonNullable<Validity>; problems: number; onClick: () => void }) {
  const text = validity.checking
    ? "Checking…"
    : validity.valid
      ? `✓ Valid${validity.states ? ` · ${validity.states} states` : ""}`
      : `${problems} problem${problems === 1 ? "" : "s"}`;
  return (
    <button
      className={`valid-state ${validity.checking ? "checking" : validity.valid ? "ok" : "bad"}`}
      onClick={onClick}
      data-testid="validity"
      title="Validated by the API as you edit"
    >
      {text}
    </button>
  );
}

export function EditorToolbar(props: {
  ws: string;
  flow: Flow;
  title: string;
  editable: boolean;
  dirty: boolean;
  validity: Validity;
  problems: number;
  busy: Busy;
  canUndo: boolean;
  canRedo: boolean;
  onShowProblems: () => void;
  onOpen: (dialog: EditorDialog) => void;
  onUndo: () => void;
  onRedo: () => void;
  onTidy: () => void;
  onValidate: () => void;
  onSave: () => void;
}) {
  const { ws, flow, editable, dirty, validity, busy } = props;
  return (
    <div className="toolbar">
      <div className="toolbar-left">
        <a className="crumb-link" href={`#${paths.flows(ws)}`}>Flows</a>
        <span className="crumb-sep">/</span>
        <span className="toolbar-title" data-testid="flow-title">{props.title || "Untitled"}</span>
        {flow.live_version ? <span className="pill pill-live">v{flow.live_version} live</span> : <span className="pill">draft only</span>}
        {editable && <span className={`save-state ${dirty ? "dirty" : ""}`}>{dirty ? "Unsaved changes" : `Saved ${relTime(flow.updated_at)}`}</span>}
        {validity && editable && <ValidityButton validity={validity} problems={props.problems} onClick={props.onShowProblems} />}
      </div>
      <div className="toolbar-right">
        <button className="btn btn-ghost btn-icon" onClick={() => props.onOpen("shortcuts")} title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts" data-testid="shortcuts">
          ⌨
        </button>
        <a className="btn btn-ghost" href={`#${paths.runs(ws, { flow: flow.id })}`}>Runs</a>
        <button className="btn btn-ghost" onClick={() => props.onOpen("json")} data-testid="json" title="View or paste the flow document">
          {"{ }"} JSON
        </button>
        <button className="btn btn-ghost" onClick={() => props.onOpen("versions")} data-testid="versions">
          Versions{flow.latest_version ? ` (${flow.latest_version})` : ""}
        </button>
        {editable && (
          <>
            <button className="btn btn-ghost btn-icon" title="Undo (Ctrl+Z)" aria-label="Undo" onClick={props.onUndo} disabled={!props.canUndo} data-testid="undo">↶</button>
            <button className="btn btn-ghost btn-icon" title="Redo (Ctrl+Shift+Z)" aria-label="Redo" onClick={props.onRedo} disabled={!props.canRedo} data-testid="redo">↷</button>
            <button className="btn btn-ghost" title="Arrange the nodes left to right by dependency" onClick={props.onTidy}>
              Tidy up
            </button>
            <span className="toolbar-sep" />
            <button className="btn" onClick={props.onValidate} disabled={!!busy} data-testid="validate">Validate</button>
            <button className="btn" onClick={props.onSave} disabled={!!busy || !dirty} data-testid="save">{busy === "save" ? "Saving…" : "Save"}</button>
            <button className="btn" onClick={() => props.onOpen("test-run")} disabled={!!busy} data-testid="test-run" title="Run the draft without publishing">Test run</button>
            <button className="btn" onClick={() => props.onOpen("publish")} disabled={!!busy} data-testid="publish">Publish</button>
            <button className="btn btn-primary" onClick={() => props.onOpen("run")} disabled={!!busy} data-testid="run">
              ▶ Run
            </button>
          </>
        )}
      </div>
    </div>
  );
}
