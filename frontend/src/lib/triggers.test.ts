import { describe, expect, it } from "vitest";
import {
  curlExample,
  describePreset,
  eventExample,
  formatInZone,
  ingressDetails,
  parsePattern,
  parseTime,
  presetExpression,
  presetOf,
  sqsMessage,
  switchPreset,
  timeZones,
  untilTime,
  versionLabel,
  type CronPreset,
  type Trigger,
} from "./triggers";

describe("the cron helper's presets", () => {
  it("make the expressions EventBridge Scheduler takes", () => {
    // Given each preset, When its expression is made, Then it is rate() or a 6-field cron() with one '?'
    expect(presetExpression({ kind: "minutes", every: 1 })).toBe("rate(1 minute)");
    expect(presetExpression({ kind: "minutes", every: 15 })).toBe("rate(15 minutes)");
    expect(presetExpression({ kind: "hourly", minute: 5 })).toBe("cron(5 * * * ? *)");
    expect(presetExpression({ kind: "daily", hour: 9, minute: 30 })).toBe("cron(30 9 * * ? *)");
    expect(presetExpression({ kind: "weekdays", hour: 17, minute: 0 })).toBe("cron(0 17 ? * MON-FRI *)");
    expect(presetExpression({ kind: "custom", expression: "  at(2026-12-24T18:00:00) " })).toBe("at(2026-12-24T18:00:00)");
  });

  it("clamp what a form cannot mean to the nearest valid value", () => {
    expect(presetExpression({ kind: "minutes", every: 0 })).toBe("rate(1 minute)");
    expect(presetExpression({ kind: "daily", hour: 25, minute: -3 })).toBe("cron(0 23 * * ? *)");
    expect(presetExpression({ kind: "minutes", every: Number.NaN })).toBe("rate(1 minute)");
  });

  it("read an expression back into its preset, and anything else as custom", () => {
    const presets: CronPreset[] = [
      { kind: "minutes", every: 1 },
      { kind: "minutes", every: 45 },
      { kind: "hourly", minute: 0 },
      { kind: "daily", hour: 7, minute: 5 },
      { kind: "weekdays", hour: 9, minute: 0 },
    ];
    for (const p of presets) expect(presetOf(presetExpression(p))).toEqual(p);
    expect(presetOf("cron(0 9 ? * MON *)")).toEqual({ kind: "custom", expression: "cron(0 9 ? * MON *)" });
    expect(presetOf("rate(2 hours)")).toEqual({ kind: "custom", expression: "rate(2 hours)" });
  });

  it("keep the time of day when switching, and give custom the current expression", () => {
    const daily: CronPreset = { kind: "daily", hour: 8, minute: 15 };
    expect(switchPreset(daily, "weekdays")).toEqual({ kind: "weekdays", hour: 8, minute: 15 });
    expect(switchPreset(daily, "custom")).toEqual({ kind: "custom", expression: "cron(15 8 * * ? *)" });
    expect(switchPreset({ kind: "custom", expression: "x" }, "minutes")).toEqual({ kind: "minutes", every: 15 });
    expect(describePreset(daily, "Europe/Berlin")).toBe("Every day at 08:15 (Europe/Berlin)");
  });

  it("parse HH:MM and refuse what is not a time", () => {
    expect(parseTime("9:05")).toEqual({ hour: 9, minute: 5 });
    expect(parseTime("24:00")).toBeNull();
    expect(parseTime("nine")).toBeNull();
  });
});

describe("times and zones", () => {
  it("show a fire time as the wall time of the zone asked for", () => {
    // Given 07:00 UTC on the day after Berlin's clocks went forward
    const iso = "2027-03-29T07:00:00Z";
    // Then Berlin sees 09:00 and New York 03:00
    expect(formatInZone(iso, "Europe/Berlin")).toContain("09:00");
    expect(formatInZone(iso, "America/New_York")).toContain("03:00");
  });

  it("say how far ahead a next fire time is, and 'due' once it has come", () => {
    const now = Date.parse("2026-11-26T12:00:00Z");
    expect(untilTime("2026-11-26T12:00:30Z", now)).toBe("in 30s");
    expect(untilTime("2026-11-26T12:15:00Z", now)).toBe("in 15m");
    expect(untilTime("2026-11-27T08:00:00Z", now)).toBe("in 20h");
    expect(untilTime("2026-12-01T12:00:00Z", now)).toBe("in 5d");
    expect(untilTime("2026-11-26T11:00:00Z", now)).toBe("due");
    expect(untilTime(null, now)).toBe("—");
  });

  it("list UTC first and no zone twice", () => {
    const zones = timeZones();
    expect(zones[0]).toBe("UTC");
    expect(new Set(zones).size).toBe(zones.length);
    expect(zones).toContain("Europe/Berlin");
  });
});

// Node's own modules, loaded by name: the console's type-check knows the browser's types only.
type ChildProcess = { execFileSync: (file: string, args: string[]) => { toString: () => string } };
const nodeModule = (name: string): Promise<ChildProcess> => import(/* @vite-ignore */ name);

async function hmacHex(secret: string, text: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(text)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

describe("the webhook's curl example", () => {
  it("signs '<timestamp>.<body>' with openssl exactly as the API verifies it", async () => {
    const { execFileSync } = await nodeModule("node:child_process");
    // Given a secret with a quote in it and the example made for it
    const secret = "whsec_it's-a-secret";
    const body = '{"city": "Oslo"}';
    const script = curlExample("https://api.example/v1/hooks/t1", secret, body);
    expect(script).toContain("openssl dgst -sha256 -hmac");
    expect(script).toContain("X-Nexod-Timestamp: $TS");
    expect(script).toContain("X-Nexod-Signature: sha256=$SIG");
    // When its lines before curl run in bash (curl replaced by printing what it would send)
    const lines = script.split("\n");
    const signing = lines.slice(0, lines.findIndex((l) => l.startsWith("curl"))).join("\n");
    const out = execFileSync("bash", ["-c", `${signing}\nprintf '%s\\n%s\\n%s\\n%s' "$HOOK_URL" "$TS" "$SIG" "$BODY"`]).toString();
    const [url, ts, sig, sent] = out.split("\n");
    // Then the signature is HMAC-SHA256(secret, "<timestamp>.<body>") of the body it sends
    expect(url).toBe("https://api.example/v1/hooks/t1");
    expect(sent).toBe(body);
    expect(sig).toBe(await hmacHex(secret, `${ts}.${body}`));
  });

  it("names $HOOK_SECRET when the secret is no longer shown", () => {
    expect(curlExample("https://h/x", null)).toContain('HOOK_SECRET="$HOOK_SECRET"');
  });
});

describe("sqs and eventbridge", () => {
  const trigger = (extra: Record<string, unknown>, config: Record<string, unknown> = {}) =>
    ({ id: "t1", kind: "sqs", config, ...extra }) as unknown as Trigger;

  it("read the ingress details wherever the API puts them, and nothing when it has none", () => {
    expect(ingressDetails(trigger({}))).toEqual({ queueUrl: undefined, bus: undefined, ruleName: undefined, shape: undefined });
    expect(ingressDetails(trigger({ queue_url: "https://sqs/q", message_shape: { a: 1 } }))).toMatchObject({
      queueUrl: "https://sqs/q",
      shape: { a: 1 },
    });
    expect(ingressDetails(trigger({ ingress: { bus: "orders", rule_name: "nexod-t1" } }))).toMatchObject({ bus: "orders", ruleName: "nexod-t1" });
    expect(ingressDetails(trigger({}, { bus: "from-config" })).bus).toBe("from-config");
  });

  it("show the message and event shapes", () => {
    expect(Object.keys(sqsMessage("w1", "t1"))).toEqual(["workspace", "trigger", "payload", "idempotency_key"]);
    expect(eventExample({ source: ["shop"], "detail-type": ["paid"] })).toMatchObject({ source: "shop", "detail-type": "paid" });
  });

  it("accept an object as an event pattern and say why anything else is not", () => {
    expect(parsePattern('{"source": ["shop"]}')).toEqual({ ok: true, value: { source: ["shop"] } });
    expect(parsePattern("")).toEqual({ ok: true, value: {} });
    expect(parsePattern("[1]")).toEqual({ ok: false, error: "an event pattern is a JSON object" });
    expect(parsePattern("{").ok).toBe(false);
    expect(versionLabel(null)).toBe("live");
    expect(versionLabel(3)).toBe("v3 (pinned)");
  });
});
