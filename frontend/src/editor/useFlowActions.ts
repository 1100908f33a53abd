// The toolbar's calls to the API (save, validate, publish, run), each reported with a toast; an invalid flow
// also shows its problems on the canvas.
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, errorMessage } from "../lib/api";
import { keys } from "../lib/queryKeys";
import { navigate, paths } from "../lib/router";
import { useToast } from "../components/Toasts";
import { savedProblems, type DraftFlow } from "../lib/contract13";
import type { Flow, FlowWarning } from "../types";
import type { FlowDraft } from "./useFlowDraft";
import type { LiveValidation } from "./useLiveValidation";

export type Busy = "save" | "validate" | "publish" | null;

export function useFlowActions(ws: string, draft: FlowDraft, validation: LiveValidation) {
  const toast = useToast();
  const qc = useQueryClient();
  // The flows list and the flow's cached reads are stale once it is saved or published (its name, versions, live).
  const changed = (id: string) => {
    void qc.invalidateQueries({ queryKey: keys.flows(ws) });
    void qc.invalidateQueries({ queryKey: keys.flow(ws, id) });
  };
  const [busy, setBusy] = useState<Busy>(null);
  // What the last save answered as `warnings` (saved, but a run would fail): shown until dismissed or the next save.
  const [warnings, setWarnings] = useState<FlowWarning[]>([]);
  const { flow } = draft;

  /** True when `e` was an invalid flow (now shown on the canvas); other errors are the caller's to report. */
  const invalid = (e: unknown, what: string): boolean => {
    const g = validation.report(e);
    if (!g) return false;
    const n = g.all.length || 1;
    toast.error(`${what}: the flow has ${n} problem${n === 1 ? "" : "s"}`, g.all[0]?.message ?? errorMessage(e));
    return true;
  };

  const save = async (quiet = false): Promise<Flow | null> => {
    if (!flow) return null;
    setBusy("save");
    try {
      const f = await draft.save();
      changed(f.id);
      setWarnings(f.warnings ?? []);
      // A draft saves valid or not (issue 13); its problems show on the nodes they name.
      const problems = savedProblems(f as DraftFlow);
      if (problems) validation.showProblems(problems);
      const n = problems?.all.length ?? 0;
      if (n) toast.info(`Draft saved with ${n} problem${n === 1 ? "" : "s"}`, "Publishing needs them fixed; test runs work meanwhile.");
      else if (!quiet) toast.success("Draft saved");
      return f;
    } catch (e) {
      if (!invalid(e, "Not saved")) toast.error("Could not save the flow", errorMessage(e));
      return null;
    } finally {
      setBusy(null);
    }
  };

  const validate = async () => {
    setBusy("validate");
    try {
      const r = await api.validate(ws, draft.definition);
      validation.markValid(r.state_count);
      toast.success("The flow is valid", r.state_count !== undefined ? `It compiles to ${r.state_count} Step Functions states.` : undefined);
    } catch (e) {
      if (!invalid(e, "Validation failed")) toast.error("Could not validate", errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  /** Saves unsaved work first; true when the new version is live. */
  const publish = async (description: string): Promise<boolean> => {
    if (!flow) return false;
    if (draft.dirty && !(await save(true))) return false;
    setBusy("publish");
    try {
      const v = await api.publish(ws, flow.id, description || undefined);
      changed(flow.id);
      if (v.unchanged) toast.info("Nothing new to publish", `v${v.version} is live and already has this definition.`);
      else toast.success(`Published v${v.version}`, "It is now the live version.");
      // The live and latest version numbers in the toolbar come from the flow; a failed refresh only delays them.
      void api.getFlow(ws, flow.id).then(draft.setFlow, () => undefined);
      return true;
    } catch (e) {
      if (!invalid(e, "Not published")) toast.error("Could not publish", errorMessage(e));
      return false;
    } finally {
      setBusy(null);
    }
  };

  const startRun = async (input: unknown, version?: number) => {
    if (!flow) return;
    try {
      const run = await api.startRun(ws, flow.id, input, version);
      toast.success("Run started");
      navigate(paths.run(ws, run.id));
    } catch (e) {
      toast.error("Could not start the run", errorMessage(e));
    }
  };

  return { busy, save, validate, publish, startRun, warnings, dismissWarnings: () => setWarnings([]) };
}
