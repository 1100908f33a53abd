// The audit log as people read it: a one-line summary of an entry's `details` per action, and the filters.
import type { AuditEntry } from "../types";

export const AUDIT_FAMILIES: { value: string; label: string }[] = [
  { value: "", label: "All actions" },
  { value: "member.", label: "Members" },
  { value: "credential.", label: "Credentials" },
  { value: "flow.", label: "Flows" },
  { value: "agent.", label: "Agents" },
  { value: "workspace.", label: "Workspace" },
  { value: "budget.", label: "Budget" },
];

type Details = Record<string, unknown>;

const str = (v: unknown) => (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
const list = (v: unknown) => (Array.isArray(v) ? v.map(str).join(", ") : str(v));
const money = (v: unknown) => (v === null || v === undefined ? "none" : typeof v === "number" ? `$${v.toFixed(2)}` : str(v));

function generic(d: Details): string {
  return Object.entries(d)
    .map(([k, v]) => `${k.replace(/_/g, " ")}: ${Array.isArray(v) ? list(v) || "none" : v === null ? "none" : str(v)}`)
    .join("; ");
}

/** A readable one-line summary of what an entry changed. Never more than its `details` says. */
export function summarizeAudit(e: Pick<AuditEntry, "action" | "details">): string {
  const d: Details = e.details && typeof e.details === "object" && !Array.isArray(e.details) ? (e.details as Details) : {};
  switch (e.action) {
    case "member.put":
      if (d.previous_role === null || d.previous_role === undefined) return `added as ${str(d.role)}`;
      if (d.previous_role === d.role) return `role stays ${str(d.role)}`;
      return `role ${str(d.previous_role)} → ${str(d.role)}`;
    case "member.remove":
      return "removed from the workspace";
    case "credential.create":
      return `${str(d.type)} credential created${Array.isArray(d.fields) && d.fields.length ? `, fields: ${list(d.fields)}` : ""}`;
    case "credential.rotate":
      return `new value${Array.isArray(d.fields) && d.fields.length ? ` for ${list(d.fields)}` : ""}`;
    case "credential.describe":
      return "description changed";
    case "credential.delete":
      return d.forced ? "deleted anyway, while a live flow used it" : "deleted";
    case "flow.create":
      return `created “${str(d.name)}”`;
    case "flow.update":
      return Array.isArray(d.fields) && d.fields.length ? `changed ${list(d.fields)}` : "saved";
    case "flow.delete":
      return "deleted";
    case "flow.publish":
      return `published v${str(d.version)}`;
    case "flow.live":
      return `v${str(d.version)} is live`;
    case "agent.create":
      return `created “${str(d.name)}”`;
    case "agent.update":
      return "draft saved";
    case "agent.delete":
      return "deleted";
    case "agent.publish":
      return `published v${str(d.version)}`;
    case "agent.live":
      return d.from === null || d.from === undefined ? `v${str(d.to)} is live` : `live v${str(d.from)} → v${str(d.to)}`;
    case "workspace.create":
      return `created “${str(d.name)}”`;
    case "workspace.allowed_hosts": {
      const added = Array.isArray(d.added) ? d.added : [];
      const removed = Array.isArray(d.removed) ? d.removed : [];
      const parts = [added.length ? `added ${list(added)}` : "", removed.length ? `removed ${list(removed)}` : ""].filter(Boolean);
      return parts.length ? `allow-list: ${parts.join("; ")}` : "allow-list saved unchanged";
    }
    case "run.start":
      return `run of flow ${str(d.flow)} v${str(d.version)}`;
    case "run.cancel":
      return "cancelled";
    case "run.redrive":
      return `attempt ${str(d.attempt)} on v${str(d.version)}${d.from_version !== d.version ? ` (was v${str(d.from_version)})` : ""}`;
    default:
      if (e.action.startsWith("budget.") && ("monthly_soft_usd" in d || "monthly_hard_usd" in d)) {
        return `soft limit ${money(d.monthly_soft_usd)}, hard limit ${money(d.monthly_hard_usd)}`;
      }
      return generic(d);
  }
}
