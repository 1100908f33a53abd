// Asks before unsaved work is lost: closing or reloading the tab, or leaving for another console page.
import { useEffect } from "react";
import { setNavigationGuard } from "../lib/router";

export function useUnsavedGuard(dirty: boolean, question = "This flow has unsaved changes. Leave without saving?"): void {
  useEffect(() => {
    if (!dirty) return;
    const onUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", onUnload);
    setNavigationGuard(() => window.confirm(question));
    return () => {
      window.removeEventListener("beforeunload", onUnload);
      setNavigationGuard(null);
    };
  }, [dirty, question]);
}
