// The public page of a signed approval link (`#/approve/<token>`): no sign-in. Shows who asks (workspace and
// flow), the message and the form, and ends in a clear final state: approved or rejected with thanks, or why the
// link no longer works (used, expired, decided by someone else, not valid). States: lib/approvalLink.ts.
import { useEffect, useReducer } from "react";
import { approvalLinkApi, finalMessage, initialLinkState, linkReducer } from "../lib/approvalLink";
import { expiry } from "../lib/approvals";
import { absTime } from "../lib/format";
import { useTitle } from "../lib/router";
import { ApprovalForm } from "../components/ApprovalForm";
import { Logo } from "../components/Header";
import { Markdown } from "../components/Markdown";
import { ErrorState, Spinner } from "../components/ui";

export function ApprovalLink({ token }: { token: string }) {
  const [state, dispatch] = useReducer(linkReducer, initialLinkState);
  useTitle(state.kind === "open" ? state.view.approval.title : "Approval");

  const load = () => {
    approvalLinkApi.get(token).then(
      (view) => dispatch({ type: "loaded", view }),
      (error) => dispatch({ type: "failed", error }),
    );
  };
  useEffect(load, [token]); // eslint-disable-line react-hooks/exhaustive-deps

  let body;
  if (state.kind === "loading") body = <Spinner label="Loading the request…" />;
  else if (state.kind === "error") body = <ErrorState title="Could not load the request" message={state.message} onRetry={load} />;
  else if (state.kind === "final") {
    const m = finalMessage(state.end);
    const good = state.end === "approved" || state.end === "rejected";
    body = (
      <div className={`link-final ${good ? "link-final-ok" : "link-final-stop"}`} data-testid="link-final" data-end={state.end}>
        <h1 data-testid="link-final-title">{m.title}</h1>
        <p>{m.body}</p>
        {state.view && <p className="muted small">“{state.view.approval.title}” · {state.view.flow.name} · {state.view.workspace.name}</p>}
      </div>
    );
  } else {
    const { approval: a, workspace, flow, recipient } = state.view;
    const exp = expiry(a.expires_at);
    body = (
      <div className="approval-card" data-testid="link-approval">
        <div className="muted small">
          <b>{workspace.name}</b> · flow <b>{flow.name}</b> asks {recipient ? <>you (<span className="mono">{recipient}</span>)</> : "you"} to decide
        </div>
        <h1 className="link-title" data-testid="approval-title">{a.title}</h1>
        {exp && <div className={`small ${exp.soon ? "approval-expiry-soon" : "muted"}`} title={absTime(a.expires_at)}>This request {exp.label}.</div>}
        <Markdown text={a.message} className="approval-message" testId="approval-message" />
        {a.required_approvals > 1 && <div className="small muted">It needs {a.required_approvals} approvals; any rejection rejects.</div>}
        <ApprovalForm
          form={a.form}
          idPrefix="link"
          busy={state.busy}
          error={state.error}
          submit={(b) => {
            dispatch({ type: "submitting" });
            return approvalLinkApi.decide(token, b);
          }}
          onDecided={(decision) => dispatch({ type: "decided", decision })}
          onRefused={(error) => {
            dispatch({ type: "failed", error });
            return true;
          }}
        />
      </div>
    );
  }

  return (
    <div className="link-page">
      <div className="link-brand"><Logo /></div>
      <main className="link-main card">{body}</main>
      <div className="muted small link-foot">You were sent this link because a Nexod workflow asked for your decision. It works once.</div>
    </div>
  );
}
