import { describe, expect, it } from "vitest";
import { decodeJwt, tokenExpired } from "./auth";
import { duration, nextAttempt, relTime, usd } from "./format";

describe("format", () => {
  it("prints durations at a useful precision", () => {
    expect(duration(null)).toBe("—");
    expect(duration(12)).toBe("12 ms");
    expect(duration(1234)).toBe("1.23 s");
    expect(duration(75_000)).toBe("1m 15s");
  });
  it("prints costs to the cent, and tiny costs exactly", () => {
    expect(usd(null)).toBe("—");
    expect(usd(0)).toBe("$0.00");
    expect(usd(0.000123)).toBe("$0.000123");
    expect(usd("2.5")).toBe("$2.50");
  });
  it("says when a retrying node tries again, relative to now", () => {
    // Given a clock
    const now = Date.parse("2026-01-01T12:00:00Z");
    // Then a next attempt reads in seconds, minutes or hours ahead, and one already due says so
    expect(nextAttempt("2026-01-01T12:00:12Z", now)).toBe("next attempt in 12 s");
    expect(nextAttempt("2026-01-01T12:00:11.200Z", now)).toBe("next attempt in 12 s");
    expect(nextAttempt("2026-01-01T12:03:00Z", now)).toBe("next attempt in 3 min");
    expect(nextAttempt("2026-01-01T14:00:00Z", now)).toBe("next attempt in 2 h");
    expect(nextAttempt("2026-01-01T11:59:59Z", now)).toBe("next attempt due now");
    expect(nextAttempt(null, now)).toBe("next attempt time unknown");
  });
  it("prints relative times", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(relTime("2026-01-01T11:59:58Z", now)).toBe("just now");
    expect(relTime("2026-01-01T11:58:00Z", now)).toBe("2m ago");
    expect(relTime("2026-01-01T09:00:00Z", now)).toBe("3h ago");
    expect(relTime(null, now)).toBe("—");
  });
});

describe("auth", () => {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const token = (claims: object) => `${b64({ alg: "RS256" })}.${b64(claims)}.sig`;
  it("reads a JWT's claims without verifying it", () => {
    expect(decodeJwt(token({ sub: "local|alice", name: "Alice" }))).toMatchObject({ sub: "local|alice" });
    expect(decodeJwt("not a token")).toBeNull();
  });
  it("knows an expired token", () => {
    expect(tokenExpired(token({ exp: 1 }))).toBe(true);
    expect(tokenExpired(token({ exp: Date.now() / 1000 + 3600 }))).toBe(false);
    expect(tokenExpired(token({}))).toBe(false);
  });
});
