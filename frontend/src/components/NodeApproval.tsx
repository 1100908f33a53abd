// The run view's approvals: the approval a node waits on, inline in its panel with the decision form, and a
// note in the run's overview of the approvals waiting (each opens its node). Data: useRunApprovals.
import type { Approval, NodeRun } from "../types";
import { ApprovalCard } from "./ApprovalCard";
import { Section } from "./ui";

export function NodeApproval({ ws, nr, approval, onChanged }: { ws: string; nr: NodeRun; approval: Approval | undefined; onChanged: () => void }) {
  if (!approval) {
    if (nr.type !== "approval" || nr.status !== "RUNNING") return null;
    return (
      <Section title="Approval">
        <div className="muted small" data-testid="node-approval-hidden">Waiting for a decision by one of its approvers.</div>
      </Section>
    );
  }
  return (
    <Section title="Approval">
      <div data-testid="node-approval">
        <ApprovalCard approval={approval} ws={ws} showRun={false} onChanged={onChanged} />
      </div>
    </Section>
  );
}

export function WaitingApprovals({ items, onPick }: { items: Approval[]; onPick: (nodeId: string) => void }) {
  const waiting = items.filter((a) => a.status === "pending");
  if (!waiting.length) return null;
  return (
    <Section title="Waiting for approval">
      <ul className="waiting-approvals" data-testid="waiting-approvals">
        {waiting.map((a) => (
          <li key={a.id}>
            <button className="tl-row" onClick={() => onPick(a.node_id)} data-node-id={a.node_id}>
              <span className="dot-sm status-running" />
              <span className="strong">{a.title}</span>
              <span className="muted small mono">{a.node_id}</span>
              {a.may_decide && <span className="pill pill-warn">your decision</span>}
            </button>
          </li>
        ))}
      </ul>
    </Section>
  );
}
