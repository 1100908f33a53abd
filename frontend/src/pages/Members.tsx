// Members of a workspace. Admins add (by user id), change roles and remove; others read the list.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, errorMessage } from "../lib/api";
import { placeError, type PlacedErrors } from "../lib/credentials";
import { absTime, relTime } from "../lib/format";
import { keys } from "../lib/queryKeys";
import { useTitle } from "../lib/router";
import { useSession } from "../session";
import type { Member, Role } from "../types";
import { useToast } from "../components/Toasts";
import { ErrorState, Modal, RoleBadge, Spinner } from "../components/ui";
import { DangerZone } from "../components/DangerZone";

const ROLES: Role[] = ["admin", "member", "viewer"];
const NO_ERRORS: PlacedErrors = { fields: {}, value: {}, other: null };

function AddMember({ onAdded }: { onAdded: (m: Member) => void }) {
  const { workspace } = useSession();
  const [user, setUser] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<PlacedErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      const body: { role: Role; email?: string; name?: string } = { role };
      if (email.trim()) body.email = email.trim();
      if (name.trim()) body.name = name.trim();
      onAdded(await api.putMember(workspace.id, user.trim(), body));
      setUser("");
      setEmail("");
      setName("");
    } catch (e) {
      setErrors(placeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card form-card" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
      <h3>Add a member</h3>
      <div className="grid4">
        <div className="field">
          <label className="field-label" htmlFor="member-user">User id<span className="req">*</span></label>
          <input id="member-user" className="input mono" value={user} onChange={(e) => setUser(e.target.value)} placeholder="e.g. local|carol or the IdP's sub" />
          {errors.fields.user_sub?.map((m, i) => <div key={i} className="field-error">{m}</div>)}
        </div>
        <div className="field">
          <label className="field-label" htmlFor="member-role">Role</label>
          <select id="member-role" className="input" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </div>
        <div className="field">
          <label className="field-label" htmlFor="member-email">Email</label>
          <input id="member-email" className="input" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          {errors.fields.email?.map((m, i) => <div key={i} className="field-error">{m}</div>)}
        </div>
        <div className="field">
          <label className="field-label" htmlFor="member-name">Name</label>
          <input id="member-name" className="input" value={name} onChange={(e) => setName(e.target.value)} />
          {errors.fields.name?.map((m, i) => <div key={i} className="field-error">{m}</div>)}
        </div>
      </div>
      {errors.other && <div className="callout callout-error">{errors.other}</div>}
      <button className="btn btn-primary" type="submit" data-testid="add-member" disabled={!user.trim() || busy}>Add member</button>
      <div className="field-help">The user id is the <code>sub</code> of their sign-in token. Adding someone already here changes their role.</div>
    </form>
  );
}

export function Members() {
  const { workspace, me, reloadMe } = useSession();
  const toast = useToast();
  const admin = workspace.role === "admin";
  const [removing, setRemoving] = useState<Member | null>(null);
  useTitle(`Members · ${workspace.name}`);
  const qc = useQueryClient();
  const members = useQuery({ queryKey: keys.members(workspace.id), queryFn: () => api.listMembers(workspace.id).then((p) => p.items), staleTime: 0 });
  const items: Member[] | null = members.data ?? null;
  const error = members.error ? errorMessage(members.error) : null;
  const load = () => void qc.invalidateQueries({ queryKey: keys.members(workspace.id) });
  /** After a change: the list, and the caller's own session when the change was theirs (their role). */
  const changed = async (m: Member) => {
    await qc.invalidateQueries({ queryKey: keys.members(workspace.id) });
    if (m.user_sub === me.user.sub) await reloadMe();
  };

  const changeRole = useMutation({
    mutationFn: ({ m, role }: { m: Member; role: Role }) =>
      api.putMember(workspace.id, m.user_sub, { role, ...(m.email ? { email: m.email } : {}), ...(m.name ? { name: m.name } : {}) }),
    onSuccess: async (_, { m, role }) => {
      toast.success(`${m.name || m.user_sub} is now ${role === "admin" ? "an" : "a"} ${role}`);
      await changed(m);
    },
    onError: (e) => toast.error("Could not change the role", errorMessage(e)),
  });
  const remove = useMutation({
    mutationFn: (m: Member) => api.removeMember(workspace.id, m.user_sub),
    onSuccess: async (_, m) => {
      toast.success(`Removed ${m.name || m.user_sub}`);
      setRemoving(null);
      await changed(m);
    },
    onError: (e) => {
      setRemoving(null);
      toast.error("Could not remove the member", errorMessage(e));
    },
  });

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <div className="crumbs">{workspace.name}</div>
          <h1>Members {items && <span className="count">{items.length}</span>}</h1>
        </div>
      </div>
      {!admin && <div className="callout callout-info">Only admins add members or change roles; you are a <b>{workspace.role}</b> here.</div>}
      {admin && (
        <AddMember
          onAdded={(m) => {
            toast.success(`${m.name || m.user_sub} is ${m.role === "admin" ? "an" : "a"} ${m.role}`);
            void changed(m);
          }}
        />
      )}
      <div className="card">
        {error && !items ? (
          <ErrorState title="Could not load members" message={error} onRetry={load} />
        ) : items === null ? (
          <Spinner label="Loading members…" />
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Member</th>
                <th>User id</th>
                <th>Role</th>
                <th>Added</th>
                {admin && <th className="right">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {items.map((m) => (
                <tr key={m.user_sub} data-testid="member-row" data-user={m.user_sub}>
                  <td>
                    <span className="strong">{m.name || m.email || m.user_sub}</span>
                    {m.user_sub === me.user.sub && <span className="muted small"> (you)</span>}
                    {m.email && m.name && <div className="muted small">{m.email}</div>}
                  </td>
                  <td className="mono">{m.user_sub}</td>
                  <td>
                    {admin ? (
                      <select className="input input-sm" aria-label={`Role of ${m.user_sub}`} data-testid="member-role" value={m.role} onChange={(e) => changeRole.mutate({ m, role: e.target.value as Role })}>
                        {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                      </select>
                    ) : (
                      <RoleBadge role={m.role} />
                    )}
                  </td>
                  <td title={absTime(m.created_at)}>{relTime(m.created_at)}</td>
                  {admin && (
                    <td className="right">
                      <button className="btn btn-sm btn-ghost danger" data-testid="remove-member" onClick={() => setRemoving(m)}>Remove</button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {admin && <DangerZone />}
      {removing && (
        <Modal
          title={`Remove ${removing.name || removing.user_sub}?`}
          onClose={() => setRemoving(null)}
          footer={
            <>
              <button className="btn" onClick={() => setRemoving(null)}>Cancel</button>
              <button className="btn btn-danger" data-testid="confirm-remove" disabled={remove.isPending} onClick={() => remove.mutate(removing)}>Remove</button>
            </>
          }
        >
          <p>They lose access to {workspace.name} at once. Their flows and runs stay.</p>
        </Modal>
      )}
    </div>
  );
}
