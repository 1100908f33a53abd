import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { Modal } from "./ui";

afterEach(cleanup);

describe("a modal", () => {
  it("closes on Escape and on a click outside by default", () => {
    // Given an ordinary dialog
    const onClose = vi.fn();
    render(<Modal title="Rename" onClose={onClose}>body</Modal>);
    // When Escape is pressed, then the overlay is clicked
    fireEvent.keyDown(window, { key: "Escape" });
    fireEvent.mouseDown(screen.getByRole("dialog").parentElement!);
    // Then each closed it
    expect(onClose).toHaveBeenCalledTimes(2);
  });

  it("showing a secret once stays open on Escape and outside clicks, closing only from its own buttons", () => {
    // Given a dialog that is not dismissible (a webhook secret shown once)
    const onClose = vi.fn();
    render(
      <Modal title="Webhook created" onClose={onClose} dismissible={false} footer={<button onClick={onClose}>I have saved the secret</button>}>
        secret
      </Modal>,
    );
    // When Escape is pressed and the overlay clicked
    fireEvent.keyDown(window, { key: "Escape" });
    fireEvent.mouseDown(screen.getByRole("dialog").parentElement!);
    // Then it is still open
    expect(onClose).not.toHaveBeenCalled();
    expect(screen.getByRole("dialog")).toBeTruthy();
    // When its own button is pressed, then it closes
    fireEvent.click(screen.getByText("I have saved the secret"));
    expect(onClose).toHaveBeenCalledTimes(1);
  });
});
