// Loads a flow into a draft store and says whether the draft differs from what the API last stored.
import { useCallback, useEffect, useMemo, useState } from "react";
import { useStore } from "zustand";
import { api, errorMessage } from "../lib/api";
import { fromDocument } from "../lib/canvasOps";
import { fromReactFlow } from "../lib/flowConvert";
import type { Flow, FlowDefinition } from "../types";
import { createDraftStore, type DraftStore } from "./draftStore";

export interface FlowDraft {
  store: DraftStore;
  flow: Flow | null;
  setFlow: (flow: Flow) => void;
  loadError: string | null;
  load: () => Promise<void>;
  /** The draft as the API stores it, and its JSON (what saving sends and validation checks). */
  definition: FlowDefinition;
  defJson: string;
  dirty: boolean;
  /** PUTs the draft (name and description only when changed); throws the API's error. */
  save: () => Promise<Flow>;
}

export function useFlowDraft(ws: string, flowId: string): FlowDraft {
  const [store] = useState(() => createDraftStore());
  const [flow, setFlow] = useState<Flow | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [savedJson, setSavedJson] = useState("");
  const nodes = useStore(store, (s) => s.nodes);
  const edges = useStore(store, (s) => s.edges);
  const meta = useStore(store, (s) => s.meta);
  const definition = useMemo(() => fromReactFlow(nodes, edges), [nodes, edges]);
  const defJson = useMemo(() => JSON.stringify(definition), [definition]);
  const dirty = flow !== null && (defJson !== savedJson || meta.name !== flow.name || meta.description !== (flow.description ?? ""));

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const f = await api.getFlow(ws, flowId);
      // Cramped saved positions are laid out for display; the next save keeps the new positions.
      const canvas = fromDocument(f.definition ?? { nodes: [], edges: [] });
      store.getState().reset(canvas, { name: f.name, description: f.description ?? "" });
      setSavedJson(JSON.stringify(fromReactFlow(canvas.nodes, canvas.edges)));
      setFlow(f);
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  }, [ws, flowId, store]);

  useEffect(() => {
    void load();
  }, [load]);

  const save = async (): Promise<Flow> => {
    if (!flow) throw new Error("The flow is not loaded yet");
    const sent = defJson;
    const body: { name?: string; description?: string; definition: FlowDefinition } = { definition };
    if (meta.name !== flow.name) body.name = meta.name;
    if (meta.description !== (flow.description ?? "")) body.description = meta.description;
    const f = await api.updateFlow(ws, flow.id, body);
    setFlow({ ...flow, ...f });
    setSavedJson(sent);
    return f;
  };

  return { store, flow, setFlow, loadError, load, definition, defJson, dirty, save };
}
