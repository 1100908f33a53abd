// The API's verdict on the draft, asked again (debounced) whenever the document changes.
import { useCallback, useEffect, useState } from "react";
import { api, ApiError } from "../lib/api";
import { groupIssues, type IssueGroups } from "../lib/flowConvert";
import type { FlowDefinition } from "../types";

export const NO_ISSUES: IssueGroups = groupIssues([]);
/** How long the document must stay unchanged before it is sent for validation. */
export const VALIDATE_AFTER_MS = 700;

export type Validity = { valid: boolean; states?: number; checking?: boolean } | null;

export interface LiveValidation {
  issues: IssueGroups;
  validity: Validity;
  /** Shows a 422/413 from any call (save, publish…) as the draft's problems; false for other errors. */
  report: (e: unknown) => IssueGroups | null;
  markValid: (states?: number) => void;
  /** Shows the problems a saved draft carries (issue 13: a draft saves valid or not). */
  showProblems: (groups: IssueGroups) => void;
}

/** The issues a 422 (invalid flow) or 413 (too large) names, or null for any other error. */
export function invalidFlowIssues(e: unknown): IssueGroups | null {
  if (!(e instanceof ApiError) || (e.status !== 422 && e.status !== 413)) return null;
  return groupIssues(e.details ?? [{ code: e.code, message: e.message }]);
}

export function useLiveValidation(ws: string, defJson: string, enabled: boolean): LiveValidation {
  const [issues, setIssues] = useState<IssueGroups>(NO_ISSUES);
  const [validity, setValidity] = useState<Validity>(null);

  const report = useCallback((e: unknown) => {
    const found = invalidFlowIssues(e);
    if (found) {
      setIssues(found);
      setValidity({ valid: false });
    }
    return found;
  }, []);
  const showProblems = useCallback((groups: IssueGroups) => {
    setIssues(groups);
    setValidity(groups.all.length ? { valid: false } : { valid: true });
  }, []);
  const markValid = useCallback((states?: number) => {
    setIssues(NO_ISSUES);
    setValidity({ valid: true, states });
  }, []);

  useEffect(() => {
    if (!enabled) return;
    const def = JSON.parse(defJson) as FlowDefinition;
    if (!def.nodes.length) {
      setIssues(NO_ISSUES);
      setValidity(null);
      return;
    }
    // A verdict on a document the user has since changed must not overwrite the newer one.
    let current = true;
    setValidity((v) => (v ? { ...v, checking: true } : { valid: true, checking: true }));
    const t = window.setTimeout(async () => {
      try {
        const r = await api.validate(ws, def);
        if (current) markValid(r.state_count);
      } catch (e) {
        if (current && !report(e)) setValidity(null);
      }
    }, VALIDATE_AFTER_MS);
    return () => {
      current = false;
      window.clearTimeout(t);
    };
  }, [defJson, enabled, ws, report, markValid]);

  return { issues, validity, report, markValid, showProblems };
}
