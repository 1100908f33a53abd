import { afterEach, describe, expect, it } from "vitest";
import { QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { makeQueryClient } from "../lib/query";
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { ToastProvider, useToast } from "./Toasts";
import { navigate } from "../lib/router";
import { App } from "../App";

afterEach(cleanup);

function QueryWrapper({ children }: { children: ReactNode }) {
  return <QueryClientProvider client={makeQueryClient()}>{children}</QueryClientProvider>;
}

function Raiser() {
  const toast = useToast();
  return (
    <>
      <button onClick={() => toast.error("First failed")}>one</button>
      <button onClick={() => toast.success("Second saved")}>two</button>
    </>
  );
}

describe("Toasts", () => {
  it("shows one toast at a time: a new one replaces the one showing", () => {
    // Given a page that raised a toast
    render(<ToastProvider><Raiser /></ToastProvider>);
    fireEvent.click(screen.getByText("one"));
    expect(screen.getByTestId("toast-error").textContent).toContain("First failed");
    // When another is raised
    fireEvent.click(screen.getByText("two"));
    // Then only the new one shows
    expect(screen.queryByTestId("toast-error")).toBeNull();
    expect(screen.getAllByTestId("toast-success")).toHaveLength(1);
  });

  it("dismisses a toast shown for a while when the console moves to another page", async () => {
    // Given the console (signed out: the sign-in page) with a toast shown for longer than a moment
    window.location.hash = "#/w/ws-1/flows";
    render(<ToastProvider><Raiser /><App /></ToastProvider>, { wrapper: QueryWrapper });
    fireEvent.click(screen.getByText("one"));
    const shown = Date.now();
    const realNow = Date.now;
    Date.now = () => shown + 5000;
    try {
      // When the route changes
      await act(async () => navigate("/w/ws-1/runs"));
      // Then the toast is gone
      expect(screen.queryByTestId("toast-error")).toBeNull();
    } finally {
      Date.now = realNow;
    }
  });

  it("keeps a toast raised by the action that navigated (it is about the new page)", async () => {
    window.location.hash = "#/w/ws-1/flows";
    render(<ToastProvider><Raiser /><App /></ToastProvider>, { wrapper: QueryWrapper });
    // When a toast is raised and the route changes at once
    fireEvent.click(screen.getByText("two"));
    await act(async () => navigate("/w/ws-1/runs/r-1"));
    // Then it stays
    expect(screen.getByTestId("toast-success").textContent).toContain("Second saved");
  });
});
