import { describe, expect, it } from "vitest";
import { documentBody, documentType, parseFilter, toBase64 } from "./knowledge";

describe("documentType", () => {
  it("reads the extension first, then the browser's type", () => {
    expect(documentType("Guide.PDF")).toBe("application/pdf");
    expect(documentType("notes.md")).toBe("text/markdown");
    expect(documentType("page.htm")).toBe("text/html");
    expect(documentType("data", "text/csv")).toBe("text/plain");
    expect(documentType("photo.png", "image/png")).toBeNull();
  });
});

describe("documentBody", () => {
  it("sends text as text and a PDF as base64", () => {
    const bytes = new TextEncoder().encode("héllo");
    expect(documentBody("a.txt", "text/plain", bytes)).toEqual({ name: "a.txt", content_type: "text/plain", content: "héllo" });
    expect(documentBody("a.pdf", "application/pdf", new Uint8Array([37, 80, 68, 70]))).toEqual({
      name: "a.pdf",
      content_type: "application/pdf",
      content_base64: "JVBERg==",
    });
  });
  it("encodes large files without overflowing the stack", () => {
    const big = new Uint8Array(200_000).fill(65);
    expect(toBase64(big).length).toBe(Math.ceil(200_000 / 3) * 4);
  });
});

describe("parseFilter", () => {
  it("accepts an object, nothing, and refuses the rest with a reason", () => {
    expect(parseFilter("")).toEqual({ filter: null, error: null });
    expect(parseFilter('{"year": {"$gte": 2024}}').filter).toEqual({ year: { $gte: 2024 } });
    expect(parseFilter("[1]").error).toMatch(/JSON object/);
    expect(parseFilter("{nope").error).toBe("Not valid JSON");
  });
});
