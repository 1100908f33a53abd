// Routing is wouter's (matching, params, <Switch>/<Route>/<Link>) over the console's hash URLs: the console is
// static files, so routes live after '#' and need no server fallback. The query stays inside the hash
// (`#/w/ws/runs?flow=x`, the URLs the console has always used and e-mails carry), so the location hooks below
// split it off themselves instead of using wouter's own hash hook, which would move it before the '#'.
import { useEffect, useSyncExternalStore } from "react";
import type { BaseLocationHook, BaseSearchHook } from "wouter";

export function currentPath(): string {
  const h = window.location.hash.replace(/^#/, "");
  return h.startsWith("/") ? h : `/${h}`;
}

// A page with unsaved work registers a guard; in-app navigation asks it first.
let guard: (() => boolean) | null = null;
export function setNavigationGuard(fn: (() => boolean) | null): void {
  guard = fn;
}
function allowed(): boolean {
  return !guard || guard();
}
if (typeof document !== "undefined") {
  document.addEventListener(
    "click",
    (e) => {
      const a = (e.target as Element | null)?.closest?.("a[href^='#']");
      if (a && !allowed()) {
        e.preventDefault();
        e.stopPropagation();
      }
    },
    true,
  );
}

/** Listeners told after every in-app navigation (toasts close on it). */
const navigationListeners = new Set<() => void>();
export function onNavigate(fn: () => void): () => void {
  navigationListeners.add(fn);
  return () => navigationListeners.delete(fn);
}

export function navigate(path: string, replace = false): void {
  if (!allowed()) return;
  const target = `#${path}`;
  if (replace) window.history.replaceState(null, "", target);
  else window.history.pushState(null, "", target);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

function subscribe(cb: () => void): () => void {
  window.addEventListener("hashchange", cb);
  window.addEventListener("popstate", cb);
  return () => {
    window.removeEventListener("hashchange", cb);
    window.removeEventListener("popstate", cb);
  };
}
const hashPathname = () => currentPath().split("?")[0];
const hashSearch = () => currentPath().split("?")[1] ?? "";

/** wouter's location hook for the console: the path part of the hash. */
export const useHashPath: BaseLocationHook = () => [
  useSyncExternalStore(subscribe, hashPathname, () => "/"),
  (to: string | URL, options?: { replace?: boolean }) => navigate(String(to), options?.replace ?? false),
];
/** wouter's search hook for the console: the query inside the hash. */
export const useHashSearch: BaseSearchHook = () => useSyncExternalStore(subscribe, hashSearch, () => "");
/** Links render `#/path`. */
(useHashPath as BaseLocationHook & { hrefs?: (href: string) => string }).hrefs = (href: string) => `#${href}`;

/** Tells the navigation listeners when the path changes (not on query-only changes such as a filter). */
export function useNavigationEvents(path: string): void {
  useEffect(() => {
    navigationListeners.forEach((fn) => fn());
  }, [path]);
}

/** The current hash path, its decoded segments and its query (for pages outside a <Route>). */
export function useRoute(): { path: string; segments: string[]; query: URLSearchParams } {
  const p = useSyncExternalStore(subscribe, hashPathname, () => "/");
  const q = useSyncExternalStore(subscribe, hashSearch, () => "");
  return { path: p, segments: p.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

export const paths = {
  flows: (ws: string) => `/w/${encodeURIComponent(ws)}/flows`,
  flow: (ws: string, id: string) => `/w/${encodeURIComponent(ws)}/flows/${encodeURIComponent(id)}`,
  runs: (ws: string, q?: Record<string, string>) =>
    `/w/${encodeURIComponent(ws)}/runs${q && Object.keys(q).length ? `?${new URLSearchParams(q)}` : ""}`,
  run: (ws: string, id: string) => `/w/${encodeURIComponent(ws)}/runs/${encodeURIComponent(id)}`,
  agents: (ws: string) => `/w/${encodeURIComponent(ws)}/agents`,
  agent: (ws: string, id: string) => `/w/${encodeURIComponent(ws)}/agents/${encodeURIComponent(id)}`,
  credentials: (ws: string) => `/w/${encodeURIComponent(ws)}/credentials`,
  members: (ws: string) => `/w/${encodeURIComponent(ws)}/members`,
  allowedHosts: (ws: string) => `/w/${encodeURIComponent(ws)}/allowed-hosts`,
  audit: (ws: string) => `/w/${encodeURIComponent(ws)}/audit`,
  usage: (ws: string) => `/w/${encodeURIComponent(ws)}/usage`,
  llmSettings: (ws: string) => `/w/${encodeURIComponent(ws)}/llm-settings`,
  approvals: (ws: string, id?: string | null, q?: Record<string, string>) => {
    const base = `/w/${encodeURIComponent(ws)}/approvals${id ? `/${encodeURIComponent(id)}` : ""}`;
    const query = Object.fromEntries(Object.entries(q ?? {}).filter(([, v]) => v));
    return Object.keys(query).length ? `${base}?${new URLSearchParams(query)}` : base;
  },
  /** The public page of a signed approval link (no sign-in). */
  approvalLink: (token: string) => `/approve/${encodeURIComponent(token)}`,
  knowledge: (ws: string, kb?: string) => `/w/${encodeURIComponent(ws)}/knowledge${kb ? `/${encodeURIComponent(kb)}` : ""}`,
};

/** Sets the tab title while a page is shown. */
export function useTitle(title: string | null | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · Nexod` : "Nexod console";
  }, [title]);
}
