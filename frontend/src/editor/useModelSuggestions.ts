// The models an llm node's form suggests: `default` and the workspace's allowed models, from
// GET /llm-settings (read once per workspace per page load). Nothing is suggested when the settings cannot be
// read: the field stays a free text input.
import { useEffect, useState } from "react";
import { api } from "../lib/api";
import { modelSuggestions } from "../lib/llmSettings";

const cache = new Map<string, Promise<string[]>>();

function load(ws: string): Promise<string[]> {
  let p = cache.get(ws);
  if (!p) {
    p = api.getLlmSettings(ws).then(
      (s) => modelSuggestions(s),
      () => {
        cache.delete(ws); // a later editor may try again
        return [];
      },
    );
    cache.set(ws, p);
  }
  return p;
}

export function useModelSuggestions(ws: string, enabled: boolean): string[] {
  const [models, setModels] = useState<string[]>([]);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    void load(ws).then((m) => live && setModels(m));
    return () => {
      live = false;
    };
  }, [ws, enabled]);
  return models;
}

/** After the settings change (the LLM settings page saved), the next editor reads them again. */
export function forgetModelSuggestions(ws: string): void {
  cache.delete(ws);
}
