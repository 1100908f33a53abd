import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { api, ApiError, errorMessage, setUnauthorizedHandler } from "./lib/api";
import { getToken, setToken } from "./lib/auth";
import { navigate, paths, useRoute } from "./lib/router";
import { SessionCtx, type Session } from "./session";
import type { Me, NodeType } from "./types";
import { Header } from "./components/Header";
import { useToast } from "./components/Toasts";
import { Empty, ErrorState, Spinner } from "./components/ui";
import { SignIn } from "./pages/SignIn";
import { FlowsList } from "./pages/FlowsList";
import { FlowEditor } from "./pages/FlowEditor";
import { RunsList } from "./pages/RunsList";
import { RunView } from "./pages/RunView";
import { Agents } from "./pages/Agents";
import { Credentials } from "./pages/Credentials";
import { Knowledge } from "./pages/Knowledge";
import { Members } from "./pages/Members";
import { AllowedHosts } from "./pages/AllowedHosts";
import { Audit } from "./pages/Audit";
import { LlmSettingsPage } from "./pages/LlmSettings";
import { Approvals } from "./pages/Approvals";
import { ApprovalLink } from "./pages/ApprovalLink";
import { linkToken } from "./lib/approvalLink";
import { CreateWorkspaceButton } from "./components/CreateWorkspace";
import { HealthNotice } from "./components/HealthNotice";

// The chart library is loaded with the Usage page only.
const Usage = lazy(() => import("./pages/Usage").then((m) => ({ default: m.Usage })));
// CodeMirror (and its markdown and JSON languages) and the diff library are loaded with the spec editor only.
const AgentEditor = lazy(() => import("./pages/AgentEditor").then((m) => ({ default: m.AgentEditor })));

export function App() {
  const [token, setTok] = useState<string | null>(getToken());
  const [me, setMe] = useState<Me | null>(null);
  const [meError, setMeError] = useState<string | null>(null);
  const [nodeTypes, setNodeTypes] = useState<NodeType[] | null>(null);
  const [nodeTypesError, setNodeTypesError] = useState<string | null>(null);
  const [signInNotice, setSignInNotice] = useState<string | null>(null);
  const route = useRoute();
  const toast = useToast();

  const signOut = useCallback((notice?: string) => {
    setToken(null);
    setTok(null);
    setMe(null);
    setNodeTypes(null);
    setSignInNotice(notice ?? null);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => signOut("Your session expired or the token was rejected. Sign in again."));
    return () => setUnauthorizedHandler(null);
  }, [signOut]);

  const loadMe = useCallback(async () => {
    setMeError(null);
    try {
      setMe(await api.me());
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // handled by the unauthorized handler
      setMeError(errorMessage(e));
    }
  }, []);

  useEffect(() => {
    if (!token) return;
    void loadMe();
    api
      .nodeTypes()
      .then((r) => setNodeTypes(r.items))
      .catch((e) => {
        setNodeTypesError(errorMessage(e));
        if (!(e instanceof ApiError && e.status === 401)) toast.error("Could not load node types", errorMessage(e));
      });
  }, [token, loadMe, toast]);

  const [, wsId, section, itemId] = route.segments; // /w/{ws}/{section}/{id}
  const workspace = useMemo(() => me?.workspaces.find((w) => w.id === wsId) ?? null, [me, wsId]);

  // Land on the first workspace's flows when the route names none.
  useEffect(() => {
    if (me && !wsId && me.workspaces.length) navigate(paths.flows(me.workspaces[0].id), true);
  }, [me, wsId]);

  // A signed approval link is public: whoever holds it decides without signing in.
  const approvalLink = linkToken(route.path, window.location.pathname);
  if (approvalLink) return <ApprovalLink key={approvalLink} token={approvalLink} />;

  if (!token)
    return (
      <SignIn
        notice={signInNotice}
        onSignedIn={(t) => {
          setToken(t);
          setTok(t);
          setSignInNotice(null);
          navigate("/", true);
        }}
      />
    );

  if (meError)
    return (
      <div className="page-center">
        <ErrorState title="Could not load your profile" message={meError} onRetry={() => void loadMe()} />
        <button className="btn btn-ghost" onClick={() => signOut()}>Sign out</button>
      </div>
    );
  if (!me) return <div className="page-center"><Spinner label="Loading…" /></div>;

  const session: Session | null = workspace
    ? { me, workspace, nodeTypes, nodeTypesError, signOut: () => signOut(), reloadMe: loadMe }
    : null;

  let body;
  if (!me.workspaces.length) {
    body = (
      <Empty title="You are not a member of any workspace" action={<CreateWorkspaceButton onCreated={async (w) => { await loadMe(); navigate(paths.flows(w.id)); }} primary />}>
        Create one to start building flows, or ask a workspace admin to add you.
      </Empty>
    );
  } else if (!session) {
    body = wsId ? (
      <Empty title="Workspace not found" action={<button className="btn btn-primary" onClick={() => navigate(paths.flows(me.workspaces[0].id))}>Go to {me.workspaces[0].name}</button>}>
        It does not exist or you are not a member of it.
      </Empty>
    ) : (
      <div className="page-center"><Spinner /></div>
    );
  } else if (section === "flows" && itemId) {
    body = <FlowEditor key={itemId} flowId={itemId} />;
  } else if (section === "runs" && itemId) {
    body = <RunView key={itemId} runId={itemId} />;
  } else if (section === "agents" && itemId) {
    body = (
      <Suspense fallback={<div className="page-center"><Spinner label="Loading…" /></div>}>
        <AgentEditor key={itemId} agentId={itemId} />
      </Suspense>
    );
  } else if (section === "agents") {
    body = <Agents key={workspace!.id} />;
  } else if (section === "approvals") {
    body = <Approvals key={workspace!.id} selected={itemId} query={route.query} />;
  } else if (section === "runs") {
    body = <RunsList query={route.query} />;
  } else if (section === "knowledge") {
    body = <Knowledge key={workspace!.id} kbId={itemId} />;
  } else if (section === "credentials") {
    body = <Credentials key={workspace!.id} />;
  } else if (section === "members") {
    body = <Members key={workspace!.id} />;
  } else if (section === "allowed-hosts") {
    body = <AllowedHosts key={workspace!.id} />;
  } else if (section === "audit") {
    body = <Audit key={workspace!.id} />;
  } else if (section === "usage") {
    body = (
      <Suspense fallback={<div className="page-center"><Spinner label="Loading…" /></div>}>
        <Usage key={workspace!.id} />
      </Suspense>
    );
  } else if (section === "llm-settings") {
    body = <LlmSettingsPage key={workspace!.id} />;
  } else {
    body = <FlowsList />;
  }

  return (
    <SessionCtx.Provider value={session}>
      <div className="app">
        <Header me={me} workspace={workspace} section={section ?? "flows"} onSignOut={() => signOut()} reloadMe={loadMe} />
        <HealthNotice />
        <main className="main">{body}</main>
      </div>
    </SessionCtx.Provider>
  );
}
