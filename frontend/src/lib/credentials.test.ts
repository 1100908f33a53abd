import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { blockingFlows, cleanValue, isPairsType, isSecretField, pairsToValue, parseHosts, placeError, secretSnippets } from "./credentials";

describe("secret snippets", () => {
  it("offers the short form first when the type has a default field, then one per field", () => {
    // Given an api_key credential (default field `key`) / When its snippets are built
    const s = secretSnippets("OPENAI", ["key"], { default_field: "key" });
    // Then both forms name it
    expect(s).toEqual(["{{ secrets.OPENAI }}", "{{ secrets.OPENAI.key }}"]);
  });
  it("names every field when the type has no default field", () => {
    expect(secretSnippets("db", ["username", "password"], { default_field: null })).toEqual([
      "{{ secrets.db.username }}",
      "{{ secrets.db.password }}",
    ]);
  });
  it("does not offer the short form when the default field is not set", () => {
    expect(secretSnippets("x", ["other"], { default_field: "key" })).toEqual(["{{ secrets.x.other }}"]);
  });
});

describe("value form", () => {
  it("types keys, tokens, passwords and urls as passwords, and locations as text", () => {
    for (const f of ["key", "token", "password", "value", "url", "external_id", "anything_else"]) expect(isSecretField(f), f).toBe(true);
    for (const f of ["host", "port", "username", "provider", "base_url", "role_arn"]) expect(isSecretField(f), f).toBe(false);
  });
  it("follows the value schema where it marks a field write-only or a password", () => {
    const schema = { properties: { username: { type: "string", format: "password" }, host: { type: "string", writeOnly: true }, port: { type: "integer" } } };
    expect(isSecretField("username", schema)).toBe(true);
    expect(isSecretField("host", schema)).toBe(true);
    expect(isSecretField("port", schema)).toBe(false);
  });
  it("drops unset fields so the type's defaults apply", () => {
    expect(cleanValue({ key: "k", base_url: "", api_version: undefined, port: 0, tls: false, x: null })).toEqual({ key: "k", port: 0, tls: false });
  });
  it("turns key/value rows into a value, skipping blank rows and trimming keys", () => {
    expect(pairsToValue([{ key: " a ", value: "1" }, { key: "", value: "" }, { key: "b", value: "" }])).toEqual({ a: "1", b: "" });
  });
  it("tells free key/value types from types with declared fields", () => {
    expect(isPairsType({ value_schema: { type: "object", additionalProperties: { type: "string" } } })).toBe(true);
    expect(isPairsType({ value_schema: { type: "object", properties: { key: { type: "string" } }, additionalProperties: false } })).toBe(false);
  });
});

describe("API errors next to their field", () => {
  it("places a value field's error under that field, without the field prefix", () => {
    // Given the API's 422 naming `value.key`
    const e = new ApiError(422, "invalid_input", "value.key: String should have at least 1 character", { field: "value.key" });
    // When it is placed / Then it sits next to `key`
    expect(placeError(e)).toEqual({ fields: {}, value: { key: ["String should have at least 1 character"] }, other: null });
  });
  it("places a page field's error under that field", () => {
    const e = new ApiError(409, "conflict", "name: a credential named 'x' exists", { field: "name" });
    expect(placeError(e).fields).toEqual({ name: ["a credential named 'x' exists"] });
  });
  it("keeps an error that names no field for the form as a whole", () => {
    const e = new ApiError(403, "forbidden", "members and admins only");
    expect(placeError(e)).toEqual({ fields: {}, value: {}, other: "members and admins only" });
  });
  it("places each entry of a request-validation list, naming a list item by what was sent", () => {
    // Given the API's 422 for the third host of an allow-list
    const e = new ApiError(422, "invalid_request", "allowed_hosts.2: String should match pattern", [
      { field: "allowed_hosts.2", in: "body", message: "String should match pattern" },
    ]);
    // When it is placed with the hosts sent / Then it names the host, next to the list
    expect(placeError(e, { allowed_hosts: ["a", "b", "http://x/y"] }).fields).toEqual({ allowed_hosts: ["'http://x/y': String should match pattern"] });
    expect(placeError(e).fields).toEqual({ allowed_hosts: ["item 3: String should match pattern"] });
  });
  it("reads the flows that block a delete from a 409, and nothing from other errors", () => {
    const flows = [{ flow_id: "f1", flow_name: "Billing" }];
    expect(blockingFlows(new ApiError(409, "in_use", "used", { flows }))).toEqual(flows);
    expect(blockingFlows(new ApiError(404, "not_found", "gone"))).toBeNull();
  });
});

describe("allow-list text", () => {
  it("reads one host per line, commas or spaces, lower-cased and unique", () => {
    expect(parseHosts("api.internal\n10.0.0.5:8443, API.internal  \n\n db:5432")).toEqual(["api.internal", "10.0.0.5:8443", "db:5432"]);
    expect(parseHosts("  \n")).toEqual([]);
  });
});
