// The workspace's danger zone (admins): delete it, with its name typed again so a stray click cannot.
import { useState } from "react";
import { api, errorMessage } from "../lib/api";
import { navigate } from "../lib/router";
import { useSession } from "../session";
import { useToast } from "./Toasts";
import { Modal } from "./ui";

export function DangerZone() {
  const { workspace, reloadMe } = useSession();
  const toast = useToast();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const matches = typed === workspace.name;

  const close = () => {
    if (busy) return;
    setOpen(false);
    setTyped("");
    setError(null);
  };
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      const done = await api.deleteWorkspace(workspace.id, typed);
      const runs = done.runs_cancelled === 1 ? "1 run cancelled" : `${done.runs_cancelled} runs cancelled`;
      const creds = done.credentials_destroyed.length;
      toast.success(`Deleted ${done.name}`, `${runs}, ${creds} credential${creds === 1 ? "" : "s"} destroyed`);
      setOpen(false);
      await reloadMe();
      navigate("/", true);
    } catch (e) {
      // A 503 means a step failed part-way: the workspace is already gone for its members, and the same
      // button finishes the job.
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="card danger-zone" data-testid="danger-zone">
      <h3>Danger zone</h3>
      <div className="danger-row">
        <div>
          <div className="strong">Delete this workspace</div>
          <div className="muted small">
            Its flows, runs and credentials go with it: running runs are cancelled and credential values destroyed.
            The audit log is kept.
          </div>
        </div>
        <button className="btn btn-danger-outline" data-testid="delete-workspace" onClick={() => setOpen(true)}>
          Delete workspace…
        </button>
      </div>
      {open && (
        <Modal
          title={`Delete ${workspace.name}?`}
          onClose={close}
          footer={
            <>
              <button className="btn" onClick={close} disabled={busy}>Cancel</button>
              <button
                className="btn btn-danger"
                data-testid="confirm-delete-workspace"
                disabled={!matches || busy}
                onClick={() => void remove()}
              >
                {busy ? "Deleting…" : "Delete this workspace"}
              </button>
            </>
          }
        >
          <p>
            This cannot be undone from the console. Every member loses access at once, running runs are cancelled
            and its credentials' values are destroyed.
          </p>
          <div className="field">
            <label className="field-label" htmlFor="confirm-workspace-name">
              Type <b className="mono">{workspace.name}</b> to confirm
            </label>
            <input
              id="confirm-workspace-name"
              className="input"
              autoComplete="off"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              onKeyDown={(e) => { if (e.key === "Enter" && matches && !busy) void remove(); }}
            />
          </div>
          {error && <div className="callout callout-error" role="alert">{error}</div>}
        </Modal>
      )}
    </div>
  );
}
