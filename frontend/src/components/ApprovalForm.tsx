// The decision form of an approval: the fields of its `form` (a JSON Schema, through SchemaForm), a comment,
// Approve and Reject. Used by the inbox, the run view's node panel and the public approval-link page. A refusal
// is shown where it belongs: a 422 on the field it names, a 409 (decided already) or 403 above the buttons.
import { useMemo, useState } from "react";
import { formFieldNames, formSchema, initialFields, placeDecisionError, type Decision, type PlacedDecisionError } from "../lib/approvals";
import type { JsonSchema } from "../types";
import { SchemaForm } from "./SchemaForm";

const NO_TEMPLATES: string[] = [];

export interface DecisionBody {
  decision: Decision;
  comment: string | null;
  fields: Record<string, unknown>;
}

export function ApprovalForm({
  form,
  idPrefix,
  submit,
  onDecided,
  onRefused,
  error: outerError,
  busy: outerBusy,
}: {
  form: JsonSchema | null;
  /** Ids of the inputs start with it: two forms on a page do not share ids. */
  idPrefix: string;
  /** Sends the decision; throws the API's error. */
  submit: (body: DecisionBody) => Promise<unknown>;
  onDecided?: (decision: Decision, result: unknown) => void;
  /** Called with a refusal before it is shown; return true when the caller shows it instead (a final state). */
  onRefused?: (e: unknown) => boolean;
  /** An error placed by the caller (the approval-link page keeps its state in a reducer). */
  error?: PlacedDecisionError | null;
  busy?: boolean;
}) {
  const schema = useMemo(() => formSchema(form), [form]);
  const names = useMemo(() => formFieldNames(form), [form]);
  const [fields, setFields] = useState<Record<string, unknown>>(() => initialFields(form));
  const [comment, setComment] = useState("");
  const [pending, setPending] = useState<Decision | null>(null);
  const [ownError, setOwnError] = useState<PlacedDecisionError | null>(null);
  // Fields whose text is not a value yet ("-1" under a minimum of 0): nothing is sent until they are corrected.
  const [unparsed, setUnparsed] = useState<Record<string, string>>({});
  const error = outerError ?? ownError;
  const busy = outerBusy || pending !== null;

  const decide = async (decision: Decision) => {
    const bad = Object.keys(unparsed);
    if (bad.length) {
      setOwnError({ fields: {}, comment: null, other: `Correct ${bad.join(", ")} first.`, kind: "invalid" });
      return;
    }
    setPending(decision);
    setOwnError(null);
    try {
      const result = await submit({ decision, comment: comment.trim() ? comment.trim() : null, fields });
      onDecided?.(decision, result);
    } catch (e) {
      if (!onRefused?.(e)) setOwnError(placeDecisionError(e, names));
    } finally {
      setPending(null);
    }
  };

  return (
    // Not a <form>: Enter in a field must not approve.
    <div className="approval-form" data-testid="approval-form">
      {schema && (
        <SchemaForm
          schema={schema}
          templated={NO_TEMPLATES}
          config={fields}
          readOnly={busy}
          onChange={setFields}
          fieldIssues={error?.fields}
          formOnly
          titles
          idPrefix={idPrefix}
          onFieldError={(name, err) =>
            setUnparsed((cur) => {
              const next = { ...cur };
              if (err) next[name] = err;
              else delete next[name];
              return next;
            })
          }
        />
      )}
      <div className="field" data-field="comment">
        <label className="field-label" htmlFor={`${idPrefix}-comment`}>Comment</label>
        <textarea
          id={`${idPrefix}-comment`}
          className={`input ${error?.comment ? "invalid" : ""}`}
          rows={2}
          maxLength={4000}
          value={comment}
          readOnly={busy}
          placeholder="Optional: why, or what to change"
          onChange={(e) => setComment(e.target.value)}
        />
        {error?.comment && <div className="field-error">{error.comment}</div>}
      </div>
      {error?.other && (
        <div className={`approval-error approval-error-${error.kind}`} role="alert" data-testid="approval-error">
          {error.other}
        </div>
      )}
      {error && !error.other && Object.keys(error.fields).length > 0 && (
        <div className="approval-error" role="alert" data-testid="approval-error">Correct the fields marked above.</div>
      )}
      <div className="approval-actions">
        <button type="button" className="btn btn-danger-outline" disabled={busy} onClick={() => void decide("reject")} data-testid="reject">
          {pending === "reject" ? "Rejecting…" : "Reject"}
        </button>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void decide("approve")} data-testid="approve">
          {pending === "approve" ? "Approving…" : "Approve"}
        </button>
      </div>
    </div>
  );
}
