// One approval: its title, the rendered markdown message, where it comes from (flow, run, node), its age and
// expiry, the decisions so far, and the decision form when the signed-in user may decide. The inbox and the run
// view's node panel show the same card.
import { useState } from "react";
import { api, ApiError } from "../lib/api";
import { expiry, outcomeLine, STATUS_LABEL } from "../lib/approvals";
import { absTime, relTime } from "../lib/format";
import { paths } from "../lib/router";
import { useSession } from "../session";
import type { Approval } from "../types";
import { ApprovalForm } from "./ApprovalForm";
import { Markdown } from "./Markdown";
import { useToast } from "./Toasts";
import { announceApprovalsChanged } from "./useApprovals";

export function ApprovalStatus({ status }: { status: Approval["status"] }) {
  return (
    <span className={`badge approval-${status}`} data-approval-status={status}>
      <span className="dot" />
      {STATUS_LABEL[status]}
    </span>
  );
}

export function ApprovalMeta({ a, ws, flowName, showRun = true }: { a: Approval; ws: string; flowName?: string | null; showRun?: boolean }) {
  const exp = a.status === "pending" ? expiry(a.expires_at) : null;
  return (
    <div className="approval-meta small">
      {showRun && (
        // In the run view the run and its flow are the page itself.
        <>
          <a className="link" href={`#${paths.flow(ws, a.flow_id)}`} onClick={(e) => e.stopPropagation()}>{flowName ?? "flow"}</a>
          <span className="muted">·</span>
          <a className="link mono" href={`#${paths.run(ws, a.run_id)}`} onClick={(e) => e.stopPropagation()} data-testid="approval-run-link">run {a.run_id.slice(0, 8)}</a>
          <span className="muted">·</span>
        </>
      )}
      <span className="mono">{a.node_id}</span>
      <span className="muted">·</span>
      <span className="muted" title={absTime(a.created_at)}>asked {relTime(a.created_at)}</span>
      {exp && (
        <>
          <span className="muted">·</span>
          <span className={exp.soon || exp.past ? "approval-expiry-soon" : "muted"} title={absTime(a.expires_at)} data-testid="approval-expiry">{exp.label}</span>
        </>
      )}
    </div>
  );
}

export function ApprovalCard({
  approval: a,
  ws,
  flowName,
  showRun = true,
  onChanged,
}: {
  approval: Approval;
  ws: string;
  flowName?: string | null;
  showRun?: boolean;
  /** The approval after a decision (or a reload after a conflict). */
  onChanged?: (approval: Approval | null) => void;
}) {
  const toast = useToast();
  const { me } = useSession();
  const mine = a.decisions.some((d) => d.by === me.user.sub);
  const [notice, setNotice] = useState<string | null>(null);
  const outcome = outcomeLine(a);
  const approvals = a.decisions.filter((d) => d.decision === "approve").length;

  return (
    <div className="approval-card" data-testid="approval-card" data-approval-id={a.id} data-status={a.status}>
      <div className="approval-head">
        <div className="approval-title strong" data-testid="approval-title">{a.title}</div>
        <ApprovalStatus status={a.status} />
      </div>
      <ApprovalMeta a={a} ws={ws} flowName={flowName} showRun={showRun} />
      <Markdown text={a.message} className="approval-message" testId="approval-message" />
      {a.required_approvals > 1 && (
        <div className="small muted">Needs {a.required_approvals} approvals ({approvals} so far); any rejection rejects.</div>
      )}
      {a.decisions.length > 0 && (
        <ul className="approval-decisions small" data-testid="approval-decisions">
          {a.decisions.map((d, i) => (
            <li key={i}>
              <span className={d.decision === "approve" ? "ok-text" : "danger-text"}>{d.decision === "approve" ? "Approved" : "Rejected"}</span> by{" "}
              <span className="mono">{d.by}</span> <span className="muted" title={absTime(d.at)}>{relTime(d.at)}</span>
              {d.comment && <div className="approval-comment">“{d.comment}”</div>}
              {Object.keys(d.fields ?? {}).length > 0 && <div className="mono muted">{JSON.stringify(d.fields)}</div>}
            </li>
          ))}
        </ul>
      )}
      {notice && <div className="approval-error approval-error-conflict" role="alert" data-testid="approval-error">{notice}</div>}
      {a.may_decide ? (
        <ApprovalForm
          key={a.id}
          form={a.form}
          idPrefix={`approval-${a.id.slice(0, 8)}`}
          submit={(body) => api.decideApproval(ws, a.id, body)}
          onDecided={(decision, result) => {
            toast.success(decision === "approve" ? "Approved" : "Rejected", a.title);
            announceApprovalsChanged();
            onChanged?.(result as Approval);
          }}
          onRefused={(e) => {
            // Decided meanwhile (by someone else, or a timeout): show the approval as it is now, with why.
            if (e instanceof ApiError && e.status === 409) {
              setNotice(`Already decided: ${e.message}`);
              api.getApproval(ws, a.id).then((fresh) => onChanged?.(fresh), () => onChanged?.(null));
              announceApprovalsChanged();
              return true;
            }
            return false;
          }}
        />
      ) : a.status === "pending" ? (
        <div className="small muted" data-testid="approval-waiting">
          {mine ? "You have decided; waiting for more approvers." : "Waiting for a decision by one of its approvers."}
        </div>
      ) : (
        outcome && <div className="approval-outcome small" data-testid="approval-outcome">{outcome}</div>
      )}
    </div>
  );
}
