// Pure helpers of the Knowledge page: how a picked file is sent, and how a typed filter is read.
import type { DocumentCreate } from "../types";

export type DocumentType = DocumentCreate["content_type"];

const BY_EXTENSION: Record<string, DocumentType> = {
  txt: "text/plain",
  text: "text/plain",
  md: "text/markdown",
  markdown: "text/markdown",
  html: "text/html",
  htm: "text/html",
  pdf: "application/pdf",
};

/** The content type the API accepts for a file name, or null when it takes no such file. */
export function documentType(name: string, browserType = ""): DocumentType | null {
  const ext = name.toLowerCase().split(".").pop() ?? "";
  if (BY_EXTENSION[ext]) return BY_EXTENSION[ext];
  if (browserType === "application/pdf" || browserType === "text/html" || browserType === "text/markdown") return browserType;
  if (browserType.startsWith("text/")) return "text/plain";
  return null;
}

/** Bytes as base64 without blowing the call stack on large files. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The body for a file: text types as text, PDF base64-encoded. */
export function documentBody(name: string, type: DocumentType, bytes: Uint8Array): DocumentCreate {
  if (type === "application/pdf") return { name, content_type: type, content_base64: toBase64(bytes) };
  return { name, content_type: type, content: new TextDecoder().decode(bytes) };
}

/** A filter typed as JSON: null when empty, an error message when it is not a JSON object. */
export function parseFilter(text: string): { filter: Record<string, unknown> | null; error: string | null } {
  if (!text.trim()) return { filter: null, error: null };
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value))
      return { filter: null, error: 'A filter is a JSON object, e.g. {"topic": "pets"}' };
    return { filter: value as Record<string, unknown>, error: null };
  } catch {
    return { filter: null, error: "Not valid JSON" };
  }
}
