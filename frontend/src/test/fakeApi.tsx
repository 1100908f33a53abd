// For component tests: an in-memory stand-in for the HTTP API behind `fetch` (routes answered from fixtures the
// test sets), with a live event stream the test pushes events into, and the providers a console page needs.
// The pages run through their real API client, TanStack Query and event-stream code.
import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { makeQueryClient } from "../lib/query";
import { SessionCtx, type Session } from "../session";
import { ToastProvider } from "../components/Toasts";
import type { NodeType, RunEvent } from "../types";

type Handler = (url: URL, init: RequestInit) => unknown;

export class FakeApi {
  /** `METHOD /path` (no query string) → the JSON answer, or a function of the request. */
  routes = new Map<string, unknown | Handler>();
  requests: { method: string; path: string; query: URLSearchParams }[] = [];
  private streams: ReadableStreamDefaultController<string>[] = [];
  private cursor = 0;

  on(route: string, answer: unknown | Handler): this {
    this.routes.set(route, answer);
    return this;
  }

  /** Send events to every open event stream (Server-Sent Events, as the local server streams them). */
  push(events: Omit<RunEvent, "cursor">[]): void {
    for (const e of events) {
      this.cursor += 1;
      const frame = `id: ${this.cursor}\ndata: ${JSON.stringify({ ...e, cursor: String(this.cursor) })}\n\n`;
      for (const c of this.streams) c.enqueue(frame);
    }
  }

  get openStreams(): number {
    return this.streams.length;
  }

  fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input, "http://console.test");
    const method = init.method ?? "GET";
    this.requests.push({ method, path: url.pathname, query: url.searchParams });
    const headers = new Headers(init.headers);
    if (url.pathname.endsWith("/events")) {
      if (headers.get("Accept") === "text/event-stream") {
        let controller!: ReadableStreamDefaultController<string>;
        const body = new ReadableStream<string>({ start: (c) => void (controller = c) }).pipeThrough(new TextEncoderStream());
        this.streams.push(controller);
        init.signal?.addEventListener("abort", () => {
          this.streams = this.streams.filter((c) => c !== controller);
        });
        return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
      }
      return json(200, { items: [], cursor: String(this.cursor) }); // latestCursor: nothing before now
    }
    const answer = this.routes.get(`${method} ${url.pathname}`);
    if (answer === undefined) return json(404, { error: { code: "not_found", message: `${method} ${url.pathname}`, details: null } });
    const data = typeof answer === "function" ? (answer as Handler)(url, init) : answer;
    return data instanceof Response ? data : json(200, data);
  };
}

export function json(status: number, data: unknown): Response {
  return new Response(JSON.stringify(data), { status, headers: { "content-type": "application/json" } });
}

export function session(role: "admin" | "member" | "viewer" = "member", nodeTypes: NodeType[] = []): Session {
  return {
    me: { user: "u-1", email: "ada@example.com", name: "Ada", workspaces: [] } as unknown as Session["me"],
    workspace: { id: "ws-1", name: "Acme", role } as Session["workspace"],
    nodeTypes,
    nodeTypesError: null,
    signOut: () => undefined,
    reloadMe: async () => undefined,
  };
}

/** A console page's providers: a fresh query client, the session of `ws-1`, the toast. */
export function Providers({ children, client = makeQueryClient(), role = "member", nodeTypes = [] }: { children: ReactNode; client?: QueryClient; role?: "admin" | "member" | "viewer"; nodeTypes?: NodeType[] }) {
  return (
    <QueryClientProvider client={client}>
      <SessionCtx.Provider value={session(role, nodeTypes)}>
        <ToastProvider>{children}</ToastProvider>
      </SessionCtx.Provider>
    </QueryClientProvider>
  );
}

/** What React Flow needs from a browser that jsdom lacks. */
export function stubBrowserLayout(): void {
  class RO {
    observe(): void {}
    unobserve(): void {}
    disconnect(): void {}
  }
  (globalThis as { ResizeObserver?: unknown }).ResizeObserver ??= RO;
  (globalThis as { DOMMatrixReadOnly?: unknown }).DOMMatrixReadOnly ??= class {
    m22 = 1;
    constructor(_t?: string) {}
  };
}
