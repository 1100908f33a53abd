// A hash router: the console is static files, so routes live after '#' and need no server fallback.
import { useEffect, useState } from "react";

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

export function navigate(path: string, replace = false): void {
  if (!allowed()) return;
  const target = `#${path}`;
  if (replace) window.history.replaceState(null, "", target);
  else window.history.pushState(null, "", target);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

export function useRoute(): { path: string; segments: string[]; query: URLSearchParams } {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const on = () => setPath(currentPath());
    window.addEventListener("hashchange", on);
    window.addEventListener("popstate", on);
    return () => {
      window.removeEventListener("hashchange", on);
      window.removeEventListener("popstate", on);
    };
  }, []);
  const [p, q = ""] = path.split("?");
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
