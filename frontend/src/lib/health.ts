// Words for components that are not ready, written for a builder rather than an operator.
import type { ComponentHealth, HealthStatus } from "../types";

export interface HealthNoticeText {
  name: string;
  status: HealthStatus;
  title: string;
  message: string;
}

const TITLES: Record<string, string> = {
  model: "The default model is unavailable.",
  database: "The database is unavailable.",
  orchestrator: "The orchestrator is unavailable.",
};

export function healthNotices(components: ComponentHealth[]): HealthNoticeText[] {
  return components
    .filter((c) => c.status !== "ready")
    .map((c) => {
      const title =
        c.status === "starting"
          ? `The ${c.name === "model" ? "default model" : c.name} is starting.`
          : TITLES[c.name] ?? `${c.name} is unavailable.`;
      const impact =
        c.name === "model"
          ? ' LLM nodes using model "default" fail until it answers again.'
          : c.name === "database"
            ? " Saving and running flows fail until it is back."
            : "";
      const why = c.status === "failed" ? ` It ${c.detail}.` : "";
      return { name: c.name, status: c.status, title, message: `${why}${impact}`.trim() };
    });
}
