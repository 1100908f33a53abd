// Approvals data for the console: the nav badge's pending count (live from the workspace's event stream) and a
// run's approvals for the run view (fetched when an approval node changes status or an approval event arrives).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "../lib/api";
import { applyApprovalEvents, approvalForNode, approvalNodesKey, awaitingRecord, decidable, isApprovalEvent } from "../lib/approvals";
import { followEvents, latestCursor } from "../lib/events";
import type { Approval, NodeRun, RunEvent } from "../types";

/** Fired on window when approvals may have changed (a decision here, an approval event): lists reload. */
export const APPROVALS_CHANGED = "nexod:approvals-changed";

export function announceApprovalsChanged(): void {
  window.dispatchEvent(new Event(APPROVALS_CHANGED));
}

const RUN_ENDED = /^run\.(succeeded|failed|cancelled)$/;
const SAFETY_POLL_MS = 30_000;

/** How many pending approvals the signed-in user may decide in `ws` (the nav badge). */
export function usePendingApprovals(ws: string | null): { count: number; more: boolean } {
  const [state, setState] = useState({ count: 0, more: false });
  const load = useCallback(async () => {
    if (!ws) return;
    try {
      const page = await api.listApprovals(ws, { status: "pending" });
      setState({ count: decidable(page.items).length, more: page.next_cursor !== null && page.next_cursor !== undefined });
    } catch {
      // the badge is a hint: keep the last count
    }
  }, [ws]);

  useEffect(() => {
    if (!ws) return;
    setState({ count: 0, more: false });
    void load();
    const onChanged = () => void load();
    window.addEventListener(APPROVALS_CHANGED, onChanged);
    window.addEventListener("focus", onChanged);
    window.addEventListener("hashchange", onChanged); // each page change: cheap, and the count is never stale long
    const poll = window.setInterval(() => void load(), SAFETY_POLL_MS);
    // Approval events (requested, decided, expired) and ended runs (a cancel withdraws its approvals).
    const stop = new AbortController();
    const path = `/v1/workspaces/${encodeURIComponent(ws)}/events`;
    let timer: number | undefined;
    const onEvents = (events: RunEvent[]) => {
      if (!events.some((e) => isApprovalEvent(e) || RUN_ENDED.test(e.type))) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(announceApprovalsChanged, 150);
    };
    latestCursor(path)
      .then((cursor) => followEvents(path, cursor, onEvents, stop.signal))
      .catch(() => undefined);
    return () => {
      stop.abort();
      window.clearTimeout(timer);
      window.clearInterval(poll);
      window.removeEventListener(APPROVALS_CHANGED, onChanged);
      window.removeEventListener("focus", onChanged);
      window.removeEventListener("hashchange", onChanged);
    };
  }, [ws, load]);
  return state;
}

export interface RunApprovals {
  items: Approval[];
  forNode: (nodeId: string) => Approval | undefined;
  /** Feed the run's stream events (the run view follows the stream; approval events update or refetch). */
  onEvents: (events: RunEvent[]) => void;
  reload: () => void;
}

/** The approvals of one run that the user may see as an approver, kept current from the run's events. */
export function useRunApprovals(ws: string, runId: string, nodes: NodeRun[]): RunApprovals {
  const [items, setItems] = useState<Approval[]>([]);
  const current = useRef<Approval[]>([]);
  current.current = items;
  const load = useCallback(async () => {
    try {
      const page = await api.listApprovals(ws, { run: runId });
      current.current = page.items;
      setItems(page.items);
    } catch {
      // shown as "waiting for approval" without the form; the next event or status change tries again
    }
  }, [ws, runId]);

  // An approval node changed status (it started waiting, or finished): its approval changed too.
  const key = approvalNodesKey(nodes);
  useEffect(() => {
    if (key) void load();
  }, [key, load]);

  // An approval node waits but its approval is not listed yet (recorded a moment after the node started):
  // look again shortly, a few times (the approval.requested event ends this early when the backend sends it).
  const missing = awaitingRecord(nodes, items).join(",");
  useEffect(() => {
    if (!missing) return;
    let tries = 0;
    const t = window.setInterval(() => {
      tries += 1;
      if (tries > 20) window.clearInterval(t);
      void load();
    }, 1000);
    return () => window.clearInterval(t);
  }, [missing, load]);

  useEffect(() => {
    const on = () => void load();
    window.addEventListener(APPROVALS_CHANGED, on);
    return () => window.removeEventListener(APPROVALS_CHANGED, on);
  }, [load]);

  const onEvents = useCallback(
    (events: RunEvent[]) => {
      const applied = applyApprovalEvents(current.current, events);
      if (applied.items !== current.current) {
        current.current = applied.items;
        setItems(applied.items);
      }
      if (applied.refetch) void load();
    },
    [load],
  );
  const forNode = useCallback((nodeId: string) => approvalForNode(items, nodeId), [items]);
  return useMemo(() => ({ items, forNode, onEvents, reload: () => void load() }), [items, forNode, onEvents, load]);
}
