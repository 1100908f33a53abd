import { lazy, Suspense, useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Route, Router, Switch } from "wouter";
import { api, ApiError, errorMessage, setUnauthorizedHandler } from "./lib/api";
import { getToken, setToken } from "./lib/auth";
import { navigate, paths, useHashPath, useHashSearch, useNavigationEvents, useRoute } from "./lib/router";
import { keys } from "./lib/queryKeys";
import { SessionCtx, type Session } from "./session";
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

const lazyPage = (page: ReactNode) => (
  <Suspense fallback={<div className="page-center"><Spinner label="Loading…" /></div>}>{page}</Suspense>
);

export function App() {
  return (
    <Router hook={useHashPath} searchHook={useHashSearch}>
      <Console />
    </Router>
  );
}

function Console() {
  const [token, setTok] = useState<string | null>(getToken());
  const [signInNotice, setSignInNotice] = useState<string | null>(null);
  const route = useRoute();
  const toast = useToast();
  const queryClient = useQueryClient();
  useNavigationEvents(route.path);

  const signOut = useCallback(
    (notice?: string) => {
      setToken(null);
      setTok(null);
      queryClient.clear();
      setSignInNotice(notice ?? null);
    },
    [queryClient],
  );

  useEffect(() => {
    setUnauthorizedHandler(() => signOut("Your session expired or the token was rejected. Sign in again."));
    return () => setUnauthorizedHandler(null);
  }, [signOut]);

  const meQuery = useQuery({ queryKey: keys.me, queryFn: api.me, enabled: !!token, staleTime: 60_000 });
  const nodeTypesQuery = useQuery({
    queryKey: keys.nodeTypes,
    queryFn: async () => (await api.nodeTypes()).items,
    enabled: !!token,
    staleTime: Infinity,
  });
  const me = meQuery.data ?? null;
  const meError = meQuery.error && !(meQuery.error instanceof ApiError && meQuery.error.status === 401) ? errorMessage(meQuery.error) : null;
  const nodeTypes = nodeTypesQuery.data ?? null;
  const nodeTypesError = nodeTypesQuery.error ? errorMessage(nodeTypesQuery.error) : null;
  const loadMe = useCallback(async () => {
    await queryClient.refetchQueries({ queryKey: keys.me });
  }, [queryClient]);
  useEffect(() => {
    const e = nodeTypesQuery.error;
    if (e && !(e instanceof ApiError && e.status === 401)) toast.error("Could not load node types", errorMessage(e));
  }, [nodeTypesQuery.error, toast]);

  const [, wsId, section] = route.segments; // /w/{ws}/{section}/{id}
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
          queryClient.clear();
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
  } else {
    const ws = workspace!.id;
    body = (
      <Switch>
        <Route path="/w/:ws/flows/:id">{(p) => <FlowEditor key={p.id} flowId={p.id} />}</Route>
        <Route path="/w/:ws/runs/:id">{(p) => <RunView key={p.id} runId={p.id} />}</Route>
        <Route path="/w/:ws/agents/:id">{(p) => lazyPage(<AgentEditor key={p.id} agentId={p.id} />)}</Route>
        <Route path="/w/:ws/agents"><Agents key={ws} /></Route>
        <Route path="/w/:ws/approvals/:id?">{(p) => <Approvals key={ws} selected={p.id} query={route.query} />}</Route>
        <Route path="/w/:ws/runs"><RunsList query={route.query} /></Route>
        <Route path="/w/:ws/knowledge/:id?">{(p) => <Knowledge key={ws} kbId={p.id} />}</Route>
        <Route path="/w/:ws/credentials"><Credentials key={ws} /></Route>
        <Route path="/w/:ws/members"><Members key={ws} /></Route>
        <Route path="/w/:ws/allowed-hosts"><AllowedHosts key={ws} /></Route>
        <Route path="/w/:ws/audit"><Audit key={ws} /></Route>
        <Route path="/w/:ws/usage">{lazyPage(<Usage key={ws} />)}</Route>
        <Route path="/w/:ws/llm-settings"><LlmSettingsPage key={ws} /></Route>
        <Route><FlowsList /></Route>
      </Switch>
    );
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
