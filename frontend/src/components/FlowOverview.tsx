// The editor's side panel when nothing is selected: the flow's name and description, counts, problems, recent runs.
import { useEffect, useState } from "react";
import { api } from "../lib/api";
import { relTime } from "../lib/format";
import type { IssueGroups } from "../lib/flowConvert";
import { paths } from "../lib/router";
import type { FlowMeta } from "../editor/draftStore";
import type { Flow, Run } from "../types";
import { TriggersSection } from "./TriggersPanel";
import { Section } from "./ui";

function RecentRuns({ ws, flowId }: { ws: string; flowId: string }) {
  const [runs, setRuns] = useState<Run[] | null>(null);
  useEffect(() => {
    api.listRuns(ws, { flow: flowId }).then((p) => setRuns(p.items.slice(0, 6)), () => setRuns([]));
  }, [ws, flowId]);
  return (
    <Section title="Recent runs" right={<a className="link small" href={`#${paths.runs(ws, { flow: flowId })}`}>All runs</a>}>
      {runs === null ? (
        <div className="muted small">Loading…</div>
      ) : runs.length === 0 ? (
        <div className="muted small">No runs yet.</div>
      ) : (
        <ul className="recent-runs">
          {runs.map((r) => (
            <li key={r.id}>
              <a className="recent-run" href={`#${paths.run(ws, r.id)}`}>
                <span className={`dot-sm status-${r.status.toLowerCase()}`} title={r.status} />
                <span className="mono">{r.id}</span>
                <span className="muted">v{r.version ?? "?"}</span>
                <span className="muted">{relTime(r.created_at)}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

type Where = { node?: string; edge?: string };

function Problems({ issues, editable, onPick }: { issues: IssueGroups; editable: boolean; onPick: (where: Where) => void }) {
  const total = issues.all.length;
  return (
    <Section title={`Problems${total ? ` (${total})` : ""}`}>
      {total === 0 ? (
        <div className="muted small">{editable ? "No problems found." : "Validation runs for members and admins."}</div>
      ) : (
        <ul className="problems" data-testid="problems">
          {issues.all.map((i, k) => (
            <li key={k}>
              <button className="problem" onClick={() => onPick({ node: i.node, edge: i.edge })}>
                <span className="problem-code">{i.code}</span>
                <span>{i.message}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

export function FlowOverview(props: {
  ws: string;
  flow: Flow;
  meta: FlowMeta;
  counts: { nodes: number; edges: number };
  issues: IssueGroups;
  editable: boolean;
  onMeta: (meta: Partial<FlowMeta>) => void;
  /** A problem was clicked: the node and edge it names, if any. */
  onPick: (where: Where) => void;
}) {
  const { ws, flow, meta, editable } = props;
  return (
    <div className="side-panel">
      <Section title="Flow">
        <div className="field">
          <label className="field-label" htmlFor="flow-name-edit">Name</label>
          <input id="flow-name-edit" className="input" value={meta.name} readOnly={!editable} onChange={(e) => props.onMeta({ name: e.target.value })} />
        </div>
        <div className="field">
          <label className="field-label" htmlFor="flow-desc-edit">Description</label>
          <textarea id="flow-desc-edit" className="input" rows={3} value={meta.description} readOnly={!editable} onChange={(e) => props.onMeta({ description: e.target.value })} />
        </div>
        <div className="stats">
          <div><span className="stat-n">{props.counts.nodes}</span><span className="stat-l">nodes</span></div>
          <div><span className="stat-n">{props.counts.edges}</span><span className="stat-l">edges</span></div>
          <div><span className="stat-n">{flow.live_version ? `v${flow.live_version}` : "—"}</span><span className="stat-l">live</span></div>
        </div>
      </Section>
      <Problems issues={props.issues} editable={editable} onPick={props.onPick} />
      <TriggersSection ws={ws} flow={flow} editable={editable} />
      <RecentRuns ws={ws} flowId={flow.id} />
      <div className="panel-section muted small">Select a node or an edge to {editable ? "edit" : "inspect"} it.</div>
    </div>
  );
}
