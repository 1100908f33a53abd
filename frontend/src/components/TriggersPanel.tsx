// The Triggers panel of a flow (issue 12): what starts the flow on its own. A summary section for the flow's
// side panel opens a drawer with the list (kind, enabled toggle, version, last and next fire, input mapping),
// create/edit/delete dialogs per kind (schedule with the cron helper, webhook with its secret shown once and
// a signed curl example, SQS and EventBridge with their message/event shapes), "Send test" and the recent
// deliveries linked to their runs. Members manage; viewers read (the API enforces it anyway).
import { lazy, Suspense, useCallback, useEffect, useState, type ReactNode } from "react";
import { api, errorMessage } from "../lib/api";
import { absTime, relTime } from "../lib/format";
import { paths } from "../lib/router";
import {
  curlExample,
  eventExample,
  ingressDetails,
  KIND_LABEL,
  parsePattern,
  presetHint,
  sqsMessage,
  timeZones,
  TRIGGER_KINDS,
  triggersApi,
  untilTime,
  userTimeZone,
  formatInZone,
  versionLabel,
  WEBHOOK_PRESETS,
  isoToLocalInput,
  localInputToIso,
  type DeliveryOutcome,
  type Trigger,
  type TriggerBody,
  type TriggerKind,
  type TriggerWithSecret,
} from "../lib/triggers";
import type { Flow, FlowVersionSummary } from "../types";
import { CronHelper } from "./CronHelper";
import { useToast } from "./Toasts";
import { Empty, JsonView, KV, Modal, Section, Spinner } from "./ui";
import "./TriggersPanel.css";

const JsonCodeEditor = lazy(() => import("./JsonCodeEditor"));

function CopyButton({ text, label = "Copy", testid }: { text: string; label?: string; testid?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="btn btn-sm"
      data-testid={testid}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => {
            setDone(true);
            window.setTimeout(() => setDone(false), 1200);
          },
          () => undefined,
        );
      }}
    >
      {done ? "Copied" : label}
    </button>
  );
}

function Copyable({ label, value, testid, multiline }: { label: string; value: string; testid: string; multiline?: boolean }) {
  return (
    <div className="field">
      <div className="field-label">
        {label}
        <span className="spacer" />
        <CopyButton text={value} testid={`${testid}-copy`} />
      </div>
      {multiline ? (
        <pre className="json trg-code" data-testid={testid}>{value}</pre>
      ) : (
        <input className="input mono" readOnly value={value} data-testid={testid} onFocus={(e) => e.target.select()} />
      )}
    </div>
  );
}

// -- the summary in the flow's side panel ------------------------------------------------------------
export function TriggersSection({ ws, flow, editable }: { ws: string; flow: Flow; editable: boolean }) {
  const [items, setItems] = useState<Trigger[] | null>(null);
  const [open, setOpen] = useState(false);
  const load = useCallback(() => {
    triggersApi.list(ws, flow.id).then((r) => setItems(r.items), () => setItems([]));
  }, [ws, flow.id]);
  useEffect(load, [load]);
  return (
    <Section
      title={`Triggers${items?.length ? ` (${items.length})` : ""}`}
      right={<button className="link small link-button" data-testid="open-triggers" onClick={() => setOpen(true)}>{editable ? "Manage" : "View"}</button>}
    >
      {items === null ? (
        <div className="muted small">Loading…</div>
      ) : items.length === 0 ? (
        <div className="muted small">Nothing starts this flow on its own yet.</div>
      ) : (
        <ul className="trg-summary">
          {items.map((t) => (
            <li key={t.id}>
              <span className={`dot-sm ${t.enabled ? "status-succeeded" : "status-cancelled"}`} title={t.enabled ? "enabled" : "disabled"} />
              <span>{KIND_LABEL[t.kind]}</span>
              <span className="muted small">{t.next_fire_at ? `next ${untilTime(t.next_fire_at)}` : t.last_fired_at ? `fired ${relTime(t.last_fired_at)}` : ""}</span>
            </li>
          ))}
        </ul>
      )}
      {open && (
        <div className="drawer-overlay" onMouseDown={(e) => e.target === e.currentTarget && (setOpen(false), load())}>
          <aside className="drawer trg-drawer" role="dialog" aria-label="Triggers">
            <div className="modal-head">
              <h3>Triggers · {flow.name}</h3>
              <button className="icon-btn" aria-label="Close" data-testid="close-triggers" onClick={() => (setOpen(false), load())}>×</button>
            </div>
            <div className="drawer-body">
              <TriggersPanel ws={ws} flow={flow} editable={editable} onChanged={load} />
            </div>
          </aside>
        </div>
      )}
    </Section>
  );
}

// -- the panel ---------------------------------------------------------------------------------------
type Dialog =
  | { type: "create" }
  | { type: "edit"; trigger: Trigger }
  | { type: "secret"; trigger: TriggerWithSecret; rotated: boolean }
  | { type: "rotate"; trigger: Trigger }
  | { type: "delete"; trigger: Trigger }
  | { type: "test"; trigger: Trigger };

export function TriggersPanel({ ws, flow, editable, onChanged }: { ws: string; flow: Flow; editable: boolean; onChanged?: () => void }) {
  const toast = useToast();
  const [items, setItems] = useState<Trigger[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [expanded, setExpanded] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(() => {
    triggersApi.list(ws, flow.id).then(
      (r) => {
        setItems(r.items);
        setError(null);
      },
      (e) => setError(errorMessage(e)),
    );
  }, [ws, flow.id]);
  useEffect(load, [load]);
  const changed = () => {
    load();
    onChanged?.();
  };

  const toggle = async (t: Trigger) => {
    setBusy(t.id);
    try {
      await triggersApi.setEnabled(ws, flow.id, t.id, !t.enabled);
      changed();
    } catch (e) {
      toast.error("Could not change the trigger", errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  if (error) return <div className="callout callout-error">{error}</div>;
  if (items === null) return <Spinner label="Loading triggers…" />;

  return (
    <div className="trg-panel" data-testid="triggers-panel">
      <div className="row trg-toolbar">
        <span className="muted small">Schedules, webhooks, SQS messages and EventBridge events start runs of this flow, one per delivery.</span>
        <span className="spacer" />
        {editable && (
          <button className="btn btn-primary btn-sm" data-testid="new-trigger" onClick={() => setDialog({ type: "create" })}>
            + New trigger
          </button>
        )}
      </div>
      {!editable && <div className="callout callout-info compact">Read-only: members and admins manage triggers.</div>}
      {items.length === 0 ? (
        <Empty title="No triggers">Nothing starts this flow on its own yet.{editable ? " Add a schedule or a webhook." : ""}</Empty>
      ) : (
        <table className="table trg-table">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Enabled</th>
              <th>Version</th>
              <th>Last fired</th>
              <th>Next fire</th>
              <th>Input mapping</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((t) => (
              <TriggerRow
                key={t.id}
                ws={ws}
                flow={flow}
                trigger={t}
                editable={editable}
                busy={busy === t.id}
                expanded={expanded === t.id}
                onExpand={() => setExpanded(expanded === t.id ? null : t.id)}
                onToggle={() => void toggle(t)}
                onDialog={setDialog}
                onStale={changed}
              />
            ))}
          </tbody>
        </table>
      )}
      {(dialog?.type === "create" || dialog?.type === "edit") && (
        <TriggerForm
          ws={ws}
          flow={flow}
          trigger={dialog.type === "edit" ? dialog.trigger : null}
          onClose={() => setDialog(null)}
          onSaved={(t, created) => {
            changed();
            if (created && "secret" in t && typeof t.secret === "string") setDialog({ type: "secret", trigger: t, rotated: false });
            else setDialog(null);
            if (created) setExpanded(t.id);
          }}
        />
      )}
      {dialog?.type === "secret" && <SecretDialog trigger={dialog.trigger} rotated={dialog.rotated} onClose={() => setDialog(null)} />}
      {dialog?.type === "rotate" && (
        <ConfirmDialog
          title="Rotate the secret?"
          confirm="Rotate secret"
          danger
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            const t = await triggersApi.rotateSecret(ws, flow.id, dialog.trigger.id);
            changed();
            setDialog({ type: "secret", trigger: t, rotated: true });
          }}
        >
          The old secret stops verifying at once: senders using it get 401 until they have the new one. The new secret is shown once.
        </ConfirmDialog>
      )}
      {dialog?.type === "delete" && (
        <ConfirmDialog
          title="Delete the trigger?"
          confirm="Delete"
          danger
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await triggersApi.remove(ws, flow.id, dialog.trigger.id);
            setDialog(null);
            changed();
            toast.success(`${KIND_LABEL[dialog.trigger.kind]} trigger deleted`);
          }}
        >
          Nothing will start this flow through it any more{dialog.trigger.kind === "webhook" ? "; its secret is destroyed" : ""}. Runs it started stay.
        </ConfirmDialog>
      )}
      {dialog?.type === "test" && <TestDialog ws={ws} flow={flow} trigger={dialog.trigger} onClose={() => setDialog(null)} onSent={changed} />}
    </div>
  );
}

function TriggerRow(props: {
  ws: string;
  flow: Flow;
  trigger: Trigger;
  editable: boolean;
  busy: boolean;
  expanded: boolean;
  onExpand: () => void;
  onToggle: () => void;
  onDialog: (d: Dialog) => void;
  onStale: () => void;
}) {
  const { trigger: t, editable } = props;
  return (
    <>
      <tr className="clickable" data-testid="trigger-row" data-kind={t.kind} data-id={t.id} onClick={props.onExpand}>
        <td>
          <span className="pill">{KIND_LABEL[t.kind]}</span>
          {!t.fires && <span className="pill pill-warn" title="accepted and stored; this deployment does not fire it yet">not firing yet</span>}
          <div className="muted small mono trg-what">{summary(t)}</div>
        </td>
        <td onClick={(e) => e.stopPropagation()}>
          <label className="switch trg-switch" title={editable ? "Enable or disable" : "Members and admins change this"}>
            <input type="checkbox" checked={t.enabled} disabled={!editable || props.busy} data-testid="trigger-enabled" onChange={props.onToggle} />
            {t.enabled ? "on" : "off"}
          </label>
        </td>
        <td>{versionLabel(t.version)}</td>
        <td title={absTime(t.last_fired_at)}>{t.last_fired_at ? relTime(t.last_fired_at) : "never"}</td>
        <td title={t.next_fire_at ? formatInZone(t.next_fire_at, userTimeZone()) : undefined} data-testid="trigger-next">{untilTime(t.next_fire_at)}</td>
        <td className="mono small">{t.input_mapping ?? <span className="muted">the body</span>}</td>
        <td className="right">{props.expanded ? "▾" : "▸"}</td>
      </tr>
      {props.expanded && (
        <tr className="trg-details-row">
          <td colSpan={7}>
            <TriggerDetails ws={props.ws} flow={props.flow} trigger={t} editable={editable} onDialog={props.onDialog} onStale={props.onStale} />
          </td>
        </tr>
      )}
    </>
  );
}

function summary(t: Trigger): string {
  const c = (t.config ?? {}) as Record<string, unknown>;
  if (t.kind === "schedule") return `${String(c.expression ?? "")} · ${String(c.timezone ?? "UTC")}`;
  if (t.kind === "webhook") return `preset: ${String(c.preset ?? "nexod")}`;
  if (t.kind === "eventbridge") return `bus: ${String(c.bus ?? "default")}`;
  return "";
}

/** One trigger opened: its details per kind, actions, and its recent deliveries (refreshed while open). */
function TriggerDetails({ ws, flow, trigger, editable, onDialog, onStale }: {
  ws: string;
  flow: Flow;
  trigger: Trigger;
  editable: boolean;
  onDialog: (d: Dialog) => void;
  /** The trigger changed since the list was read (a delivery fired it): the list reloads. */
  onStale: () => void;
}) {
  const [full, setFull] = useState<Trigger | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const get = () =>
      triggersApi.get(ws, flow.id, trigger.id).then(
        (t) => live && (setFull(t), setError(null)),
        (e) => live && setError(errorMessage(e)),
      );
    void get();
    const timer = window.setInterval(() => void get(), 3000);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, [ws, flow.id, trigger.id, trigger.updated_at, trigger.enabled]);
  const t = full ?? trigger;
  const stale = full !== null && (full.last_fired_at !== trigger.last_fired_at || full.next_fire_at !== trigger.next_fire_at);
  useEffect(() => {
    if (stale) onStale();
  }, [stale]); // eslint-disable-line react-hooks/exhaustive-deps
  const config = (t.config ?? {}) as Record<string, unknown>;
  const ingress = ingressDetails(t);

  return (
    <div className="trg-details" data-testid="trigger-details">
      {editable && (
        <div className="row trg-actions">
          <button className="btn btn-sm" data-testid="trigger-test" onClick={() => onDialog({ type: "test", trigger: t })}>Send test</button>
          <button className="btn btn-sm" data-testid="trigger-edit" onClick={() => onDialog({ type: "edit", trigger: t })}>Edit</button>
          {t.kind === "webhook" && (
            <button className="btn btn-sm" data-testid="trigger-rotate" onClick={() => onDialog({ type: "rotate", trigger: t })}>Rotate secret</button>
          )}
          <span className="spacer" />
          <button className="btn btn-sm btn-danger-outline" data-testid="trigger-delete" onClick={() => onDialog({ type: "delete", trigger: t })}>Delete</button>
        </div>
      )}
      {t.kind === "schedule" && (
        <KV
          items={[
            ["Expression", <span className="mono">{String(config.expression ?? "")}</span>],
            ["Time zone", String(config.timezone ?? "UTC")],
            ["Window", `${config.start_date ? absTime(String(config.start_date)) : "now"} → ${config.end_date ? absTime(String(config.end_date)) : "no end"}`],
            ["Overlap", config.overlap === "skip" ? "skip while the previous run is running" : "allow"],
            ["Catch-up", String(config.catch_up ?? "latest")],
            ["Next fire", t.next_fire_at ? `${formatInZone(t.next_fire_at, userTimeZone())} (${untilTime(t.next_fire_at)})` : t.enabled ? "none (ended)" : "disabled"],
          ]}
        />
      )}
      {t.kind === "webhook" && (
        <>
          <Copyable label="URL" value={t.url ?? ""} testid="hook-url" />
          <div className="muted small trg-hint">
            Secret set {t.secret_set_at ? relTime(t.secret_set_at) : "—"}; it was shown once. {presetHint(String(config.preset ?? "nexod"))}
          </div>
          {(config.preset ?? "nexod") === "nexod" && <Copyable label="Signed curl example" value={curlExample(t.url ?? "", null)} testid="hook-curl" multiline />}
        </>
      )}
      {t.kind === "sqs" && (
        <>
          {ingress.queueUrl ? <Copyable label="Queue URL" value={ingress.queueUrl} testid="sqs-queue" /> : <div className="muted small">The deployment's ingress queue (its URL appears here once the deployment has one).</div>}
          <div className="field-label">Message body</div>
          <JsonView value={ingress.shape ?? sqsMessage(ws, t.id)} />
        </>
      )}
      {t.kind === "eventbridge" && (
        <>
          <KV items={[["Bus", ingress.bus ?? "the Nexod bus"], ...(ingress.ruleName ? ([["Rule", <span className="mono">{ingress.ruleName}</span>]] as [string, ReactNode][]) : [])]} />
          <div className="field-label">Event pattern</div>
          <JsonView value={config.event_pattern ?? {}} />
          <div className="field-label">A matching event</div>
          <JsonView value={ingress.shape ?? eventExample(config.event_pattern)} />
        </>
      )}
      <div className="field-label trg-deliveries-head">Recent deliveries</div>
      {error && <div className="field-error">{error}</div>}
      <Deliveries ws={ws} trigger={t} loaded={full !== null} />
    </div>
  );
}

function Deliveries({ ws, trigger, loaded }: { ws: string; trigger: Trigger; loaded: boolean }) {
  if (!loaded) return <div className="muted small">Loading…</div>;
  if (trigger.deliveries.length === 0) return <div className="muted small" data-testid="no-deliveries">No deliveries yet.</div>;
  return (
    <table className="table trg-deliveries" data-testid="deliveries">
      <thead>
        <tr>
          <th>Received</th>
          <th>Status</th>
          <th>Reason</th>
          <th>Run</th>
        </tr>
      </thead>
      <tbody>
        {trigger.deliveries.map((d) => (
          <tr key={d.id} data-testid="delivery" data-status={d.status}>
            <td title={absTime(d.received_at)}>{relTime(d.received_at)}</td>
            <td><span className={`pill ${d.status === "rejected" ? "pill-danger" : d.status === "started" ? "pill-live" : ""}`}>{d.status}</span></td>
            <td className="small">{d.reason ?? ""}</td>
            <td>
              {d.run_id ? (
                <a className="link mono small" href={`#${paths.run(ws, d.run_id)}`} data-testid="delivery-run" data-run={d.run_id}>{d.run_id.slice(0, 8)}</a>
              ) : (
                "—"
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// -- dialogs -----------------------------------------------------------------------------------------
function ConfirmDialog({ title, confirm, danger, children, onClose, onConfirm }: {
  title: string;
  confirm: string;
  danger?: boolean;
  children: ReactNode;
  onClose: () => void;
  onConfirm: () => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Modal
      title={title}
      onClose={onClose}
      footer={
        <>
          <button className="btn btn-ghost" onClick={onClose}>Cancel</button>
          <button
            className={`btn ${danger ? "btn-danger" : "btn-primary"}`}
            disabled={busy}
            data-testid="confirm"
            onClick={() => {
              setBusy(true);
              onConfirm().catch((e) => {
                setError(errorMessage(e));
                setBusy(false);
              });
            }}
          >
            {confirm}
          </button>
        </>
      }
    >
      <p>{children}</p>
      {error && <div className="callout callout-error">{error}</div>}
    </Modal>
  );
}

function SecretDialog({ trigger, rotated, onClose }: { trigger: TriggerWithSecret; rotated: boolean; onClose: () => void }) {
  const secret = typeof trigger.secret === "string" ? trigger.secret : "";
  const url = trigger.url ?? "";
  const preset = String(((trigger.config ?? {}) as Record<string, unknown>).preset ?? "nexod");
  return (
    <Modal
      title={rotated ? "The new secret" : "Webhook created"}
      onClose={onClose}
      wide
      dismissible={false}
      footer={<button className="btn btn-primary" data-testid="secret-done" onClick={onClose}>I have saved the secret</button>}
    >
      <div className="callout callout-warn" data-testid="secret-once">
        This secret is shown <b>once</b>. Copy it now: Nexod keeps it encrypted and never shows it again (rotate it to get a new one).
      </div>
      <Copyable label="URL" value={url} testid="secret-url" />
      <Copyable label="Secret" value={secret} testid="secret-value" />
      {preset === "nexod" && <Copyable label="Signed curl example (openssl)" value={curlExample(url, secret)} testid="secret-curl" multiline />}
      <div className="muted small">{presetHint(preset)}</div>
    </Modal>
  );
}

function TestDialog({ ws, flow, trigger, onClose, onSent }: { ws: string; flow: Flow; trigger: Trigger; onClose: () => void; onSent: () => void }) {
  const [text, setText] = useState('{\n  "hello": "world"\n}');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<DeliveryOutcome | null>(null);
  const send = async () => {
    let payload: unknown;
    try {
      payload = text.trim() ? JSON.parse(text) : null;
    } catch (e) {
      setError(`The payload is not JSON: ${(e as Error).message}`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setOutcome(await triggersApi.test(ws, flow.id, trigger.id, payload));
      onSent();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title={`Send a test · ${KIND_LABEL[trigger.kind]}`}
      onClose={onClose}
      footer={
        <>
          <button className="btn btn-ghost" onClick={onClose}>Close</button>
          <button className="btn btn-primary" disabled={busy} data-testid="send-test" onClick={() => void send()}>Send test</button>
        </>
      }
    >
      <div className="field">
        <label className="field-label" htmlFor="trg-test-payload">Sample payload (the delivery's body)</label>
        <textarea id="trg-test-payload" className="input mono" rows={6} value={text} onChange={(e) => setText(e.target.value)} data-testid="test-payload" />
        <div className="field-help">Fires once now, even while the trigger is disabled; the input mapping applies.</div>
      </div>
      {error && <div className="callout callout-error">{error}</div>}
      {outcome && (
        <div className="callout callout-info" data-testid="test-outcome" data-status={outcome.status}>
          {outcome.status}
          {outcome.reason ? `: ${outcome.reason}` : ""}
          {outcome.run_id && (
            <>
              {" · "}
              <a className="link mono" href={`#${paths.run(ws, outcome.run_id)}`} data-testid="trigger-test-run">open run {outcome.run_id.slice(0, 8)}</a>
            </>
          )}
        </div>
      )}
    </Modal>
  );
}

// -- create and edit ---------------------------------------------------------------------------------
interface FormState {
  kind: TriggerKind;
  enabled: boolean;
  version: number | null;
  mapping: string;
  // schedule
  expression: string;
  timezone: string;
  start: string; // datetime-local, the user's wall time
  end: string;
  overlap: "skip" | "allow";
  catchUp: "none" | "latest" | "all";
  // webhook
  preset: string;
  secret: string;
  // eventbridge
  bus: string;
  pattern: string;
}

function initialForm(t: Trigger | null): FormState {
  const c = (t?.config ?? {}) as Record<string, unknown>;
  return {
    kind: t?.kind ?? "schedule",
    enabled: t?.enabled ?? true,
    version: t?.version ?? null,
    mapping: t?.input_mapping ?? "",
    expression: typeof c.expression === "string" ? c.expression : "rate(15 minutes)",
    timezone: typeof c.timezone === "string" ? c.timezone : "UTC",
    start: isoToLocalInput(typeof c.start_date === "string" ? c.start_date : null),
    end: isoToLocalInput(typeof c.end_date === "string" ? c.end_date : null),
    overlap: c.overlap === "skip" ? "skip" : "allow",
    catchUp: c.catch_up === "none" || c.catch_up === "all" ? c.catch_up : "latest",
    preset: typeof c.preset === "string" ? c.preset : "nexod",
    secret: "",
    bus: typeof c.bus === "string" ? c.bus : "",
    pattern: JSON.stringify(c.event_pattern ?? { source: ["my.app"], "detail-type": ["order.created"] }, null, 2),
  };
}

function configOf(f: FormState): Record<string, unknown> {
  switch (f.kind) {
    case "schedule": {
      const out: Record<string, unknown> = { expression: f.expression.trim(), timezone: f.timezone, overlap: f.overlap, catch_up: f.catchUp };
      const start = localInputToIso(f.start);
      const end = localInputToIso(f.end);
      if (start) out.start_date = start;
      if (end) out.end_date = end;
      return out;
    }
    case "webhook":
      return { preset: f.preset };
    case "sqs":
      return {};
    case "eventbridge": {
      const p = parsePattern(f.pattern);
      return { event_pattern: p.ok ? p.value : {}, ...(f.bus.trim() ? { bus: f.bus.trim() } : {}) };
    }
  }
}

function TriggerForm({ ws, flow, trigger, onClose, onSaved }: {
  ws: string;
  flow: Flow;
  trigger: Trigger | null;
  onClose: () => void;
  onSaved: (t: Trigger | TriggerWithSecret, created: boolean) => void;
}) {
  const [f, setF] = useState<FormState>(() => initialForm(trigger));
  const [versions, setVersions] = useState<FlowVersionSummary[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; field?: string } | null>(null);
  const zones = useState(timeZones)[0];
  const set = (patch: Partial<FormState>) => setF((s) => ({ ...s, ...patch }));
  useEffect(() => {
    api.listVersions(ws, flow.id).then((r) => setVersions(r.items), () => setVersions([]));
  }, [ws, flow.id]);
  const pattern = parsePattern(f.pattern);

  const save = async () => {
    if (f.kind === "eventbridge" && !pattern.ok) {
      setError({ message: `Event pattern: ${pattern.error}`, field: "config.event_pattern" });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const mapping = f.mapping.trim() ? f.mapping.trim() : null;
      if (trigger) {
        const t = await triggersApi.update(ws, flow.id, trigger.id, { config: configOf(f), version: f.version, input_mapping: mapping });
        onSaved(t, false);
      } else {
        const body: TriggerBody = { kind: f.kind, config: configOf(f), enabled: f.enabled, version: f.version, input_mapping: mapping };
        if (f.kind === "webhook" && f.secret.trim()) body.secret = f.secret.trim();
        onSaved(await triggersApi.create(ws, flow.id, body), true);
      }
    } catch (e) {
      const details = (e as { details?: unknown }).details as { field?: string } | null;
      setError({ message: errorMessage(e), field: details && typeof details === "object" && "field" in details ? details.field : undefined });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      title={trigger ? `Edit ${KIND_LABEL[trigger.kind]} trigger` : "New trigger"}
      onClose={onClose}
      wide
      footer={
        <>
          <button className="btn btn-ghost" onClick={onClose}>Cancel</button>
          <button className="btn btn-primary" disabled={busy} data-testid="save-trigger" onClick={() => void save()}>
            {trigger ? "Save" : "Create trigger"}
          </button>
        </>
      }
    >
      <div className="trg-form" data-testid="trigger-form">
        {!trigger && (
          <div className="seg" role="tablist" aria-label="Kind">
            {TRIGGER_KINDS.map((k) => (
              <button key={k} type="button" role="tab" aria-selected={f.kind === k} className={f.kind === k ? "on" : ""} data-testid={`kind-${k}`} onClick={() => set({ kind: k })}>
                {KIND_LABEL[k]}
              </button>
            ))}
          </div>
        )}
        {f.kind === "schedule" && (
          <>
            <div className="grid2">
              <div className="field">
                <label className="field-label" htmlFor="trg-tz">Time zone of the schedule</label>
                <select id="trg-tz" className="input" value={f.timezone} data-testid="trigger-timezone" onChange={(e) => set({ timezone: e.target.value })}>
                  {zones.map((z) => (
                    <option key={z} value={z}>{z}</option>
                  ))}
                </select>
              </div>
              <div className="field">
                <label className="field-label" htmlFor="trg-overlap">Overlap</label>
                <select id="trg-overlap" className="input" value={f.overlap} onChange={(e) => set({ overlap: e.target.value as FormState["overlap"] })}>
                  <option value="allow">Allow: start a run even if the previous one is running</option>
                  <option value="skip">Skip while the previous run is running</option>
                </select>
              </div>
            </div>
            <CronHelper
              ws={ws}
              expression={f.expression}
              schedule={{ timezone: f.timezone, start_date: localInputToIso(f.start), end_date: localInputToIso(f.end) }}
              onChange={(expression) => set({ expression })}
            />
            <div className="grid3">
              <div className="field">
                <label className="field-label" htmlFor="trg-start">Start (your time, optional)</label>
                <input id="trg-start" className="input" type="datetime-local" value={f.start} onChange={(e) => set({ start: e.target.value })} />
              </div>
              <div className="field">
                <label className="field-label" htmlFor="trg-end">End (your time, optional)</label>
                <input id="trg-end" className="input" type="datetime-local" value={f.end} onChange={(e) => set({ end: e.target.value })} />
              </div>
              <div className="field">
                <label className="field-label" htmlFor="trg-catchup">After downtime</label>
                <select id="trg-catchup" className="input" value={f.catchUp} onChange={(e) => set({ catchUp: e.target.value as FormState["catchUp"] })}>
                  <option value="latest">Catch up: the latest missed time</option>
                  <option value="all">Catch up: every missed time (≤100)</option>
                  <option value="none">Skip missed times</option>
                </select>
              </div>
            </div>
          </>
        )}
        {f.kind === "webhook" && (
          <>
            <div className="field">
              <label className="field-label" htmlFor="trg-preset">Signature</label>
              <select id="trg-preset" className="input" value={f.preset} data-testid="trigger-preset" onChange={(e) => set({ preset: e.target.value })}>
                {WEBHOOK_PRESETS.map((p) => (
                  <option key={p.value} value={p.value}>{p.label}</option>
                ))}
              </select>
              <div className="field-help">{presetHint(f.preset)}</div>
            </div>
            {!trigger && (
              <div className="field">
                <label className="field-label" htmlFor="trg-secret">Signing secret (optional)</label>
                <input id="trg-secret" className="input mono" type="password" autoComplete="off" value={f.secret} placeholder="leave empty: Nexod makes one" onChange={(e) => set({ secret: e.target.value })} />
                <div className="field-help">Stripe and Slack make their own signing secret: paste it here (16–256 characters).</div>
              </div>
            )}
          </>
        )}
        {f.kind === "sqs" && (
          <>
            <div className="callout callout-info compact">
              Send messages to the deployment's ingress queue; each message names the workspace and this trigger. The run input is the payload (or the input mapping of the delivery).
            </div>
            <div className="field-label">Message body</div>
            <JsonView value={sqsMessage(ws, trigger?.id ?? "<trigger id>")} />
          </>
        )}
        {f.kind === "eventbridge" && (
          <>
            <div className="field">
              <label className="field-label" htmlFor="trg-bus">Event bus (optional)</label>
              <input id="trg-bus" className="input mono" value={f.bus} placeholder="empty: the Nexod bus" onChange={(e) => set({ bus: e.target.value })} />
            </div>
            <div className="field">
              <div className="field-label">Event pattern (JSON)</div>
              <Suspense fallback={<textarea className="input mono" rows={6} value={f.pattern} onChange={(e) => set({ pattern: e.target.value })} />}>
                <JsonCodeEditor label="Event pattern" value={f.pattern} onChange={(pattern) => set({ pattern })} />
              </Suspense>
              {!pattern.ok && <div className="field-error">{pattern.error}</div>}
              <div className="field-help">EventBridge patterns: exact values, prefix, numeric and anything-but matching.</div>
            </div>
            <div className="field-label">A matching event</div>
            <JsonView value={eventExample(pattern.ok ? pattern.value : {})} />
          </>
        )}
        <div className="grid2 trg-common">
          <div className="field">
            <label className="field-label" htmlFor="trg-version">Version</label>
            <select
              id="trg-version"
              className="input"
              value={f.version ?? ""}
              data-testid="trigger-version"
              onChange={(e) => set({ version: e.target.value ? Number(e.target.value) : null })}
            >
              <option value="">Live version at each firing{flow.live_version ? ` (now v${flow.live_version})` : ""}</option>
              {versions.map((v) => (
                <option key={v.version} value={v.version}>Pinned: v{v.version}</option>
              ))}
              {f.version && !versions.some((v) => v.version === f.version) && <option value={f.version}>Pinned: v{f.version}</option>}
            </select>
          </div>
          <div className="field">
            <label className="field-label" htmlFor="trg-mapping">Input mapping (JMESPath, optional)</label>
            <input
              id="trg-mapping"
              className={`input mono ${error?.field === "input_mapping" ? "invalid" : ""}`}
              value={f.mapping}
              placeholder="empty: the delivery's body"
              data-testid="trigger-mapping"
              onChange={(e) => set({ mapping: e.target.value })}
            />
            <div className="field-help">Over {"{delivery: {body, headers, query, received_at}, trigger}"}, e.g. {"{city: delivery.body.city}"}</div>
          </div>
        </div>
        {!trigger && (
          <label className="switch">
            <input type="checkbox" checked={f.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
            Enabled
          </label>
        )}
        {error && (
          <div className="callout callout-error" data-testid="trigger-error" data-field={error.field ?? ""}>
            {error.message}
          </div>
        )}
      </div>
    </Modal>
  );
}
