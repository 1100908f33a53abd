// One toast at a time: a new one replaces the one showing (no pile over the panels), and moving to another page
// dismisses it (a message about the page left behind does not follow you).
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { onNavigate } from "../lib/router";

type Kind = "error" | "success" | "info";
interface Toast {
  id: number;
  kind: Kind;
  title: string;
  body?: string;
  at: number;
}
interface ToastApi {
  error: (title: string, body?: string) => void;
  success: (title: string, body?: string) => void;
  info: (title: string, body?: string) => void;
}

const CARRY_MS = 1000;

const Ctx = createContext<ToastApi | null>(null);

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((t) => t.filter((x) => x.id !== id)), []);
  const push = useCallback(
    (kind: Kind, title: string, body?: string) => {
      const id = next.current++;
      setToasts([{ id, kind, title, body, at: Date.now() }]);
      window.setTimeout(() => dismiss(id), kind === "error" ? 9000 : 4000);
    },
    [dismiss],
  );
  // A toast raised by the action that navigated ("Run started", then the run's page) is about the new page and
  // stays; one shown for more than a moment is about the page left behind.
  useEffect(() => onNavigate(() => setToasts((t) => t.filter((x) => Date.now() - x.at < CARRY_MS))), []);
  const api = useMemo<ToastApi>(
    () => ({
      error: (t, b) => push("error", t, b),
      success: (t, b) => push("success", t, b),
      info: (t, b) => push("info", t, b),
    }),
    [push],
  );
  return (
    <Ctx.Provider value={api}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.kind}`} data-testid={`toast-${t.kind}`}>
            <div className="toast-text">
              <div className="toast-title">{t.title}</div>
              {t.body && <div className="toast-body">{t.body}</div>}
            </div>
            <button className="toast-close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </Ctx.Provider>
  );
}

export function useToast(): ToastApi {
  const c = useContext(Ctx);
  if (!c) throw new Error("useToast outside ToastProvider");
  return c;
}
