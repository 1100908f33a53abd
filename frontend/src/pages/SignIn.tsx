import { useState } from "react";
import { api, ApiError, errorMessage } from "../lib/api";
import { decodeJwt, tokenExpired } from "../lib/auth";
import { Logo } from "../components/Header";
import { useTitle } from "../lib/router";

const LOCAL_USERS = [
  { user: "alice", label: "Alice", hint: "admin · Demo" },
  { user: "bob", label: "Bob", hint: "admin · Bob's lab" },
  { user: "vera", label: "Vera", hint: "viewer · Demo" },
];

export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (token: string) => void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [localUnavailable, setLocalUnavailable] = useState(false);
  const [pasted, setPasted] = useState("");
  useTitle("Sign in");

  const signInLocal = async (user: string) => {
    setBusy(user);
    setError(null);
    try {
      const r = await api.devToken(user);
      onSignedIn(r.token);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) setLocalUnavailable(true);
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const signInToken = () => {
    const t = pasted.trim().replace(/^Bearer\s+/i, "");
    if (!decodeJwt(t)) return setError("That does not look like a JWT (three base64url parts separated by dots).");
    if (tokenExpired(t)) return setError("That token has expired. Get a fresh one from your identity provider.");
    onSignedIn(t);
  };

  return (
    <div className="signin">
      <div className="signin-side">
        <Logo />
        <h1>Durable AI workflows, in your own AWS account.</h1>
        <p>Design flows of LLM calls, agents and connectors, publish immutable versions that compile to Step Functions, and inspect every run node by node — with cost to the cent.</p>
        <ul className="signin-points">
          <li>Visual editor with validation as you build</li>
          <li>Versioned, rollback-able deployments</li>
          <li>Live run graphs, retries and redrive</li>
        </ul>
      </div>
      <div className="signin-main">
        <div className="signin-card">
          <h2>Sign in</h2>
          {notice && <div className="callout callout-warn">{notice}</div>}
          {!localUnavailable && (
            <>
              <div className="signin-label">Local development users</div>
              <div className="signin-users">
                {LOCAL_USERS.map((u) => (
                  <button key={u.user} className="user-btn" data-testid={`signin-${u.user}`} disabled={!!busy} onClick={() => void signInLocal(u.user)}>
                    <span className="user-avatar">{u.label[0]}</span>
                    <span className="user-text">
                      <span className="strong">{u.label}</span>
                      <span className="muted small">{u.hint}</span>
                    </span>
                    <span className="muted">{busy === u.user ? "…" : "→"}</span>
                  </button>
                ))}
              </div>
              <div className="divider"><span>or</span></div>
            </>
          )}
          <div className="signin-label">Paste a bearer token (JWT)</div>
          <textarea
            className="input mono"
            rows={4}
            value={pasted}
            aria-label="JWT"
            placeholder="eyJhbGciOiJSUzI1NiIs…"
            onChange={(e) => setPasted(e.target.value)}
          />
          <button className="btn btn-primary btn-block" disabled={!pasted.trim()} onClick={signInToken}>
            Sign in with token
          </button>
          {error && <div className="callout callout-error">{error}</div>}
          <p className="muted small signin-foot">
            Locally, <code>nexod dev-token --user alice</code> prints a token. The token is kept in this tab only.
          </p>
        </div>
      </div>
    </div>
  );
}
