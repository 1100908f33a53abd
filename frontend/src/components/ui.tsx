// Small shared building blocks: modal, drawer, badges, JSON viewer, empty states.
import { useEffect, useState, type ReactNode } from "react";
import type { NodeStatus, RunStatus } from "../types";

export function Modal({
  title,
  onClose,
  children,
  footer,
  wide,
  dismissible = true,
}: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
  /** False: Escape and a click outside do not close it (e.g. a secret shown once); its buttons still do. */
  dismissible?: boolean;
}) {
  useEffect(() => {
    if (!dismissible) return;
    const on = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", on);
    return () => window.removeEventListener("keydown", on);
  }, [onClose, dismissible]);
  return (
    <div className="overlay" onMouseDown={(e) => dismissible && e.target === e.currentTarget && onClose()}>
      <div className={`modal ${wide ? "modal-wide" : ""}`} role="dialog" aria-label={typeof title === "string" ? title : undefined}>
        <div className="modal-head">
          <h3>{title}</h3>
          <button className="icon-btn" aria-label="Close" onClick={onClose}>×</button>
        </div>
        <div className="modal-body">{children}</div>
        {footer && <div className="modal-foot">{footer}</div>}
      </div>
    </div>
  );
}

export function Drawer({ title, onClose, children }: { title: ReactNode; onClose: () => void; children: ReactNode }) {
  useEffect(() => {
    const on = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", on);
    return () => window.removeEventListener("keydown", on);
  }, [onClose]);
  return (
    <div className="drawer-overlay" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <aside className="drawer" role="dialog" aria-label={typeof title === "string" ? title : undefined}>
        <div className="modal-head">
          <h3>{title}</h3>
          <button className="icon-btn" aria-label="Close" onClick={onClose}>×</button>
        </div>
        <div className="drawer-body">{children}</div>
      </aside>
    </div>
  );
}

export function StatusBadge({ status }: { status: RunStatus | NodeStatus | string }) {
  return (
    <span className={`badge status-${status.toLowerCase()}`} data-status={status}>
      <span className="dot" />
      {status.charAt(0) + status.slice(1).toLowerCase()}
    </span>
  );
}

export function RoleBadge({ role }: { role: string }) {
  return <span className={`pill role-${role}`}>{role}</span>;
}

export function Spinner({ label }: { label?: string }) {
  return (
    <div className="spinner-wrap">
      <span className="spinner" />
      {label && <span className="muted">{label}</span>}
    </div>
  );
}

export function Empty({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <div className="empty-icon" aria-hidden>◇</div>
      <div className="empty-title">{title}</div>
      {children && <div className="empty-text">{children}</div>}
      {action && <div className="empty-action">{action}</div>}
    </div>
  );
}

export function ErrorState({ title, message, onRetry }: { title: string; message: string; onRetry?: () => void }) {
  return (
    <div className="empty error-state">
      <div className="empty-icon" aria-hidden>!</div>
      <div className="empty-title">{title}</div>
      <div className="empty-text">{message}</div>
      {onRetry && (
        <div className="empty-action">
          <button className="btn" onClick={onRetry}>Try again</button>
        </div>
      )}
    </div>
  );
}

export function JsonView({ value, empty = "—", maxHeight }: { value: unknown; empty?: string; maxHeight?: number }) {
  const [copied, setCopied] = useState(false);
  if (value === undefined || value === null) return <div className="json-empty">{empty}</div>;
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return (
    <div className="json-wrap">
      <button
        className="copy-btn"
        onClick={() => {
          void navigator.clipboard?.writeText(text).then(() => {
            setCopied(true);
            window.setTimeout(() => setCopied(false), 1200);
          });
        }}
      >
        {copied ? "Copied" : "Copy"}
      </button>
      <pre className="json" style={maxHeight ? { maxHeight } : undefined}>{text}</pre>
    </div>
  );
}

export function KV({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="kv">
      {items.map(([k, v]) => (
        <div key={k} className="kv-row">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Section({ title, children, right }: { title: string; children: ReactNode; right?: ReactNode }) {
  return (
    <section className="panel-section">
      <div className="panel-section-head">
        <h4>{title}</h4>
        {right}
      </div>
      {children}
    </section>
  );
}

