import { useState } from "react";
import { api, errorMessage } from "../lib/api";
import type { Workspace } from "../types";
import { useToast } from "./Toasts";
import { Modal } from "./ui";

export function CreateWorkspaceModal({ onClose, onCreated }: { onClose: () => void; onCreated: (w: Workspace) => void | Promise<void> }) {
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const toast = useToast();
  const submit = async () => {
    if (!name.trim()) return;
    setBusy(true);
    try {
      const w = await api.createWorkspace(name.trim());
      toast.success(`Workspace “${w.name}” created`);
      await onCreated(w);
      onClose();
    } catch (e) {
      toast.error("Could not create the workspace", errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title="New workspace"
      onClose={onClose}
      footer={
        <>
          <button className="btn" onClick={onClose}>Cancel</button>
          <button className="btn btn-primary" disabled={!name.trim() || busy} onClick={() => void submit()}>Create workspace</button>
        </>
      }
    >
      <form onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <div className="field">
          <label className="field-label" htmlFor="ws-name">Name</label>
          <input id="ws-name" className="input" autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Support automation" />
          <div className="field-help">You become its admin. Flows, runs and credentials are isolated per workspace.</div>
        </div>
      </form>
    </Modal>
  );
}

export function CreateWorkspaceButton({ onCreated, primary }: { onCreated: (w: Workspace) => void | Promise<void>; primary?: boolean }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button className={`btn ${primary ? "btn-primary" : ""}`} onClick={() => setOpen(true)}>New workspace</button>
      {open && <CreateWorkspaceModal onClose={() => setOpen(false)} onCreated={onCreated} />}
    </>
  );
}
