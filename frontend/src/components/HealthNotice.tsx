// A notice across the console while a part of the platform is not ready (the offline model crashed,
// the database is restarting): what happened, and what it means for the builder. Polls /v1/health.
import { useEffect, useState } from "react";
import { api } from "../lib/api";
import type { ComponentHealth } from "../types";
import { healthNotices } from "../lib/health";

const READY_POLL_MS = 15_000;
const DEGRADED_POLL_MS = 3_000;

export function HealthNotice() {
  const [down, setDown] = useState<ComponentHealth[]>([]);

  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      let next: ComponentHealth[] = [];
      try {
        const health = await api.health();
        next = health.components.filter((c) => c.status !== "ready");
      } catch {
        next = []; // an unreachable API is reported by the page that needed it
      }
      if (cancelled) return;
      setDown(next);
      timer = setTimeout(() => void poll(), next.length ? DEGRADED_POLL_MS : READY_POLL_MS);
    };
    void poll();
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
  }, []);

  const notices = healthNotices(down);
  if (!notices.length) return null;
  return (
    <div className="health-notice" role="status" data-testid="health-notice">
      {notices.map((n) => (
        <div key={n.name} className={`health-notice-item health-${n.status}`}>
          <strong>{n.title}</strong> <span>{n.message}</span>
        </div>
      ))}
    </div>
  );
}
