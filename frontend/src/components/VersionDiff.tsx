// Two versions of a flow side by side (issue 13's GET .../versions/{a}/diff/{b}): nodes and edges added and
// removed, and each changed node's config fields, the older value on the left, the newer on the right.
import { useQuery } from "@tanstack/react-query";
import { errorMessage } from "../lib/api";
import { api13, type FieldChange, type VersionDiff } from "../lib/contract13";
import { keys } from "../lib/queryKeys";
import { Modal, Spinner } from "./ui";

const show = (v: unknown) => (v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v, null, 2));
const label = (v: number | "draft") => (v === "draft" ? "Draft" : `v${v}`);
const edgeText = (e: { from: string; to: string; condition?: unknown }) => `${e.from} → ${e.to}${e.condition != null ? ` (${String(e.condition)})` : ""}`;

function Rows({ changes, prefix }: { changes: FieldChange[]; prefix?: string }) {
  return (
    <>
      {changes.map((c) => (
        <tr key={`${prefix}${c.path}`} className="diff-changed">
          <td className="mono small">{prefix ? `${prefix}.` : ""}{c.path}</td>
          <td><pre className="diff-cell diff-before">{show(c.before)}</pre></td>
          <td><pre className="diff-cell diff-after">{show(c.after)}</pre></td>
        </tr>
      ))}
    </>
  );
}

export function DiffTable({ diff }: { diff: VersionDiff }) {
  const empty =
    !diff.nodes.added.length && !diff.nodes.removed.length && !diff.nodes.changed.length && !diff.edges.added.length && !diff.edges.removed.length && !diff.settings.length;
  if (empty) return <div className="muted" data-testid="diff-empty">No differences: {label(diff.from)} and {label(diff.to)} are the same flow.</div>;
  return (
    <table className="diff-table" data-testid="version-diff">
      <thead>
        <tr><th /><th>{label(diff.from)}</th><th>{label(diff.to)}</th></tr>
      </thead>
      <tbody>
        {diff.nodes.removed.map((n) => (
          <tr key={`r-${n.id}`} className="diff-removed" data-testid="diff-node-removed"><td className="mono small">node {n.id}</td><td>{n.type}</td><td>removed</td></tr>
        ))}
        {diff.nodes.added.map((n) => (
          <tr key={`a-${n.id}`} className="diff-added" data-testid="diff-node-added"><td className="mono small">node {n.id}</td><td>—</td><td>{n.type} added</td></tr>
        ))}
        {diff.nodes.changed.map((n) => <Rows key={`c-${n.id}`} prefix={n.id} changes={n.fields} />)}
        {diff.edges.removed.map((e) => (
          <tr key={`er-${edgeText(e)}`} className="diff-removed"><td className="mono small">edge</td><td>{edgeText(e)}</td><td>removed</td></tr>
        ))}
        {diff.edges.added.map((e) => (
          <tr key={`ea-${edgeText(e)}`} className="diff-added"><td className="mono small">edge</td><td>—</td><td>{edgeText(e)}</td></tr>
        ))}
        <Rows prefix="settings" changes={diff.settings} />
      </tbody>
    </table>
  );
}

export function VersionDiffDialog({ ws, flowId, from, to, onClose }: { ws: string; flowId: string; from: number | "draft"; to: number | "draft"; onClose: () => void }) {
  const q = useQuery({ queryKey: keys.diff(ws, flowId, from, to), queryFn: () => api13.diff(ws, flowId, from, to), retry: false });
  return (
    <Modal title={`${label(from)} ↔ ${label(to)}`} onClose={onClose} wide>
      {q.isPending ? <Spinner /> : q.error ? (
        <div className="field-error">{errorMessage(q.error)}</div>
      ) : <DiffTable diff={q.data} />}
    </Modal>
  );
}
