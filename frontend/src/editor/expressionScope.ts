// What an expression or template field knows about its node (issue 13): the flow and node it belongs to (for
// the live preview) and the paths it can complete (lib/completions.ts). The editor provides one per node panel;
// a field outside any (a credential form) completes roots only and shows no preview.
import { useQuery } from "@tanstack/react-query";
import { createContext, useContext, useMemo } from "react";
import { api13, type Run13 } from "../lib/contract13";
import { keys } from "../lib/queryKeys";
import type { PathSources } from "../lib/completions";
import type { FlowDefinition, JsonSchema, NodeType } from "../types";

export interface ExpressionScope {
  ws: string;
  flowId: string;
  nodeId: string;
  sources: PathSources;
  /** The run completions and previews use (null: the flow has not run yet). */
  runId: string | null;
  runLabel: string | null;
  /** The caller may preview (members and up: the preview route evaluates the text, like editing the draft). */
  preview: boolean;
}

export const ExpressionScopeContext = createContext<ExpressionScope | null>(null);
export const useExpressionScope = () => useContext(ExpressionScopeContext);

export interface LastRun {
  run: Run13;
  outputs: Record<string, unknown>;
}

const CANDIDATES = 3;

/** The flow's most recent run, test run or not, that has node outputs (beyond the input node's): its input and
 * the outputs of its nodes (iteration 0, succeeded). Null when the flow has none. */
export async function fetchLastRun(ws: string, flowId: string): Promise<LastRun | null> {
  const [live, test] = await Promise.all([api13.recentRuns(ws, flowId, false), api13.recentRuns(ws, flowId, true)]);
  const runs = [...live.items, ...test.items]
    .filter((r) => r.status !== "QUEUED")
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at))
    .slice(0, CANDIDATES);
  let fallback: LastRun | null = null;
  for (const run of runs) {
    const nodes = await api13.runNodes(ws, run.id);
    const outputs: Record<string, unknown> = {};
    let executed = 0;
    for (const n of nodes.items) {
      if (n.status !== "SUCCEEDED" || (n.iteration ?? 0) !== 0 || n.output === undefined) continue;
      outputs[n.node_id] = n.output;
      if (n.type !== "input") executed++;
    }
    if (executed > 0) return { run, outputs };
    fallback ??= { run, outputs };
  }
  return fallback;
}

export function useLastRun(ws: string, flowId: string) {
  return useQuery({ queryKey: keys.lastRun(ws, flowId), queryFn: () => fetchLastRun(ws, flowId), retry: false, staleTime: 15_000 });
}

/** The scope of one node's fields: its upstream ancestors, their kinds' output schemas, the input node's example
 * and the last run's data. */
export function buildScope(args: {
  ws: string;
  flowId: string;
  nodeId: string;
  upstream: string[];
  definition: FlowDefinition;
  typeOf: (type: string) => NodeType | undefined;
  last: LastRun | null | undefined;
  preview?: boolean;
  /** The scope of an edge condition leaving `nodeId`: it also sees `output`, that node's own output. */
  edge?: boolean;
}): ExpressionScope {
  const byId = new Map(args.definition.nodes.map((n) => [n.id, n]));
  const outputSchemas: Record<string, JsonSchema | null> = {};
  let inputExample: unknown;
  for (const id of args.upstream) {
    const n = byId.get(id);
    if (!n) continue;
    outputSchemas[id] = (args.typeOf(n.type)?.output_schema as JsonSchema | undefined) ?? null;
    if (n.type === "input") inputExample = (n.config as Record<string, unknown> | undefined)?.example;
  }
  const run = args.last?.run ?? null;
  return {
    ws: args.ws,
    flowId: args.flowId,
    nodeId: args.nodeId,
    runId: run?.id ?? null,
    preview: args.preview ?? true,
    runLabel: run ? `${run.test ? "test run " : "run "}${run.number != null ? `#${run.number}` : run.id.slice(0, 8)}` : null,
    sources: {
      upstream: args.upstream,
      inputExample,
      outputSchemas,
      lastInput: run?.input,
      lastOutputs: args.last?.outputs,
      edge: args.edge
        ? {
            schema: (args.typeOf(byId.get(args.nodeId)?.type ?? "")?.output_schema as JsonSchema | undefined) ?? null,
            last: args.last?.outputs[args.nodeId],
          }
        : undefined,
    },
  };
}

export function useScope(args: Omit<Parameters<typeof buildScope>[0], "last">): ExpressionScope {
  const last = useLastRun(args.ws, args.flowId);
  const { ws, flowId, nodeId, upstream, definition, typeOf, preview, edge } = args;
  const key = upstream.join(",");
  return useMemo(
    () => buildScope({ ws, flowId, nodeId, upstream, definition, typeOf, last: last.data, preview, edge }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [ws, flowId, nodeId, key, definition, last.data, preview, edge],
  );
}
