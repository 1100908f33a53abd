import { useEffect, useRef, useState } from "react";
import { navigate, paths } from "../lib/router";
import type { Me, Workspace } from "../types";
import { CreateWorkspaceModal } from "./CreateWorkspace";
import { RoleBadge } from "./ui";
import { badgeLabel } from "../lib/approvals";
import { usePendingApprovals } from "./useApprovals";

function useOutsideClose(open: boolean, close: () => void) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const on = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) close();
    };
    window.addEventListener("mousedown", on);
    return () => window.removeEventListener("mousedown", on);
  }, [open, close]);
  return ref;
}

/** The same page in another workspace (a flow or a run belongs to one workspace: those go to the list). */
function sectionPath(section: string, ws: string): string {
  switch (section) {
    case "runs":
      return paths.runs(ws);
    case "agents":
      return paths.agents(ws);
    case "approvals":
      return paths.approvals(ws);
    case "credentials":
      return paths.credentials(ws);
    case "knowledge":
      return paths.knowledge(ws);
    case "members":
      return paths.members(ws);
    case "allowed-hosts":
      return paths.allowedHosts(ws);
    case "audit":
      return paths.audit(ws);
    case "usage":
      return paths.usage(ws);
    case "llm-settings":
      return paths.llmSettings(ws);
    default:
      return paths.flows(ws);
  }
}

export function Logo() {
  return (
    <span className="logo">
      <svg width="22" height="22" viewBox="0 0 32 32" aria-hidden>
        <rect width="32" height="32" rx="7" fill="#6366f1" />
        <path d="M9 23V9l14 14V9" stroke="#fff" strokeWidth="3.2" fill="none" strokeLinecap="round" strokeLinejoin="round" />
      </svg>
      <span className="logo-text">Nexod</span>
    </span>
  );
}

export function Header({
  me,
  workspace,
  section,
  onSignOut,
  reloadMe,
}: {
  me: Me;
  workspace: Workspace | null;
  section: string;
  onSignOut: () => void;
  reloadMe: () => Promise<void>;
}) {
  const [wsOpen, setWsOpen] = useState(false);
  const [userOpen, setUserOpen] = useState(false);
  const [creating, setCreating] = useState(false);
  const wsRef = useOutsideClose(wsOpen, () => setWsOpen(false));
  const userRef = useOutsideClose(userOpen, () => setUserOpen(false));
  const pending = usePendingApprovals(workspace?.id ?? null);
  const badge = badgeLabel(pending.count, pending.more);
  const name = me.user.name || me.user.email || me.user.sub;
  const initials = name
    .split(/[\s@._-]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((p) => p[0]!.toUpperCase())
    .join("");

  return (
    <header className="topbar">
      <a className="brand" href={workspace ? `#${paths.flows(workspace.id)}` : "#/"}>
        <Logo />
        <span className="brand-sub">console</span>
      </a>
      {workspace && (
        <nav className="topnav">
          <a className={section === "flows" ? "active" : ""} href={`#${paths.flows(workspace.id)}`}>Flows</a>
          <a className={section === "runs" ? "active" : ""} href={`#${paths.runs(workspace.id)}`}>Runs</a>
          <a className={section === "approvals" ? "active" : ""} href={`#${paths.approvals(workspace.id)}`} data-testid="nav-approvals">
            Approvals
            {badge && <span className="nav-badge" data-testid="approvals-badge" title={`${badge} pending approval${badge === "1" ? "" : "s"} you may decide`}>{badge}</span>}
          </a>
          <a className={section === "agents" ? "active" : ""} href={`#${paths.agents(workspace.id)}`}>Agents</a>
          <a className={section === "usage" ? "active" : ""} href={`#${paths.usage(workspace.id)}`}>Usage</a>
          <a className={section === "knowledge" ? "active" : ""} href={`#${paths.knowledge(workspace.id)}`}>Knowledge</a>
          <a className={section === "credentials" ? "active" : ""} href={`#${paths.credentials(workspace.id)}`}>Credentials</a>
          <a className={section === "llm-settings" ? "active" : ""} href={`#${paths.llmSettings(workspace.id)}`}>LLM</a>
          <a className={section === "members" ? "active" : ""} href={`#${paths.members(workspace.id)}`}>Members</a>
          {workspace.role === "admin" && (
            <a className={section === "audit" ? "active" : ""} href={`#${paths.audit(workspace.id)}`}>Audit</a>
          )}
          <a className={section === "allowed-hosts" ? "active" : ""} href={`#${paths.allowedHosts(workspace.id)}`}>Allow-list</a>
        </nav>
      )}
      <div className="spacer" />
      <div className="menu-wrap" ref={wsRef}>
        <button className="ws-switch" aria-haspopup="menu" aria-expanded={wsOpen} data-testid="workspace-switcher" onClick={() => setWsOpen((o) => !o)}>
          <span className="ws-label">Workspace</span>
          <span className="ws-name">{workspace?.name ?? "Choose…"}</span>
          {workspace && <RoleBadge role={workspace.role} />}
          <span className="caret">▾</span>
        </button>
        {wsOpen && (
          <div className="menu" role="menu">
            <div className="menu-head">Your workspaces</div>
            {me.workspaces.map((w) => (
              <button
                key={w.id}
                role="menuitem"
                className={`menu-item ${w.id === workspace?.id ? "current" : ""}`}
                onClick={() => {
                  setWsOpen(false);
                  navigate(sectionPath(section, w.id));
                }}
              >
                <span>{w.name}</span>
                <RoleBadge role={w.role} />
              </button>
            ))}
            <div className="menu-sep" />
            <button role="menuitem" className="menu-item" onClick={() => { setWsOpen(false); setCreating(true); }}>
              + New workspace
            </button>
          </div>
        )}
      </div>
      <div className="menu-wrap" ref={userRef}>
        <button className="avatar" aria-label="Account" data-testid="user-menu" onClick={() => setUserOpen((o) => !o)} title={name}>
          {initials || "?"}
        </button>
        {userOpen && (
          <div className="menu menu-right" role="menu">
            <div className="menu-user">
              <div className="strong">{name}</div>
              {me.user.email && <div className="muted small">{me.user.email}</div>}
              <div className="muted small mono">{me.user.sub}</div>
            </div>
            <div className="menu-sep" />
            <button role="menuitem" className="menu-item" onClick={onSignOut}>Sign out</button>
          </div>
        )}
      </div>
      {creating && (
        <CreateWorkspaceModal
          onClose={() => setCreating(false)}
          onCreated={async (w) => {
            await reloadMe();
            navigate(paths.flows(w.id));
          }}
        />
      )}
    </header>
  );
}
