// Who is signed in, their workspaces, the current one, and the node-type catalogue (fetched once).
import { createContext, useContext } from "react";
import type { Me, NodeType, Role, Workspace } from "./types";

export interface Session {
  me: Me;
  workspace: Workspace;
  nodeTypes: NodeType[] | null;
  nodeTypesError: string | null;
  signOut: () => void;
  reloadMe: () => Promise<void>;
}

export const SessionCtx = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionCtx);
  if (!s) throw new Error("useSession outside a workspace");
  return s;
}

export function canEdit(role: Role | string): boolean {
  return role === "admin" || role === "member";
}
