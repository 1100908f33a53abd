// The cron helper of a schedule trigger: presets (every N minutes, hourly, daily at, weekdays at) or a custom
// expression, and the next five fire times in the user's own time zone, computed by the API's preview route
// (the scheduler's own code, so what is shown is what will fire). A bad expression shows the API's reason.
import { useEffect, useState } from "react";
import { errorMessage } from "../lib/api";
import {
  describePreset,
  formatInZone,
  parseTime,
  presetExpression,
  presetOf,
  PRESET_LABEL,
  switchPreset,
  timeOf,
  triggersApi,
  userTimeZone,
  type CronPreset,
  type CronPresetKind,
} from "../lib/triggers";

export interface ScheduleWindow {
  timezone: string;
  start_date?: string;
  end_date?: string;
}

function useNextTimes(ws: string, expression: string, win: ScheduleWindow) {
  // `of`: the expression and zone the times belong to (the answer, not the form: a slow answer stays labelled)
  const [state, setState] = useState<{ times: string[] | null; error: string | null; busy: boolean; of?: { expression: string; timezone: string } }>({
    times: null,
    error: null,
    busy: false,
  });
  const { timezone, start_date, end_date } = win;
  useEffect(() => {
    if (!expression.trim()) {
      setState({ times: null, error: "Enter an expression.", busy: false });
      return;
    }
    let live = true;
    setState((s) => ({ ...s, busy: true }));
    const t = window.setTimeout(() => {
      triggersApi
        .preview(ws, { expression, timezone, start_date, end_date, count: 5 })
        .then((r) => live && setState({ times: r.next, error: null, busy: false, of: { expression: r.expression, timezone: r.timezone } }))
        .catch((e) => live && setState({ times: null, error: errorMessage(e), busy: false }));
    }, 250);
    return () => {
      live = false;
      window.clearTimeout(t);
    };
  }, [ws, expression, timezone, start_date, end_date]);
  return state;
}

export function CronHelper({
  ws,
  expression,
  schedule: scheduleWindow,
  onChange,
  readOnly,
}: {
  ws: string;
  expression: string;
  schedule: ScheduleWindow;
  onChange: (expression: string) => void;
  readOnly?: boolean;
}) {
  const [preset, setPreset] = useState<CronPreset>(() => presetOf(expression || "rate(15 minutes)"));
  const [timeText, setTimeText] = useState(() => ("hour" in preset ? timeOf(preset) : "09:00"));
  const next = useNextTimes(ws, expression, scheduleWindow);
  const userZone = userTimeZone();

  const apply = (p: CronPreset) => {
    setPreset(p);
    if ("hour" in p) setTimeText(timeOf(p));
    onChange(presetExpression(p));
  };

  return (
    <div className="cron-helper" data-testid="cron-helper">
      <div className="seg" role="tablist" aria-label="Schedule preset">
        {(Object.keys(PRESET_LABEL) as CronPresetKind[]).map((k) => (
          <button
            key={k}
            type="button"
            role="tab"
            aria-selected={preset.kind === k}
            className={preset.kind === k ? "on" : ""}
            disabled={readOnly}
            data-testid={`cron-preset-${k}`}
            onClick={() => apply(switchPreset(preset, k))}
          >
            {PRESET_LABEL[k]}
          </button>
        ))}
      </div>
      {preset.kind === "minutes" && (
        <div className="field">
          <label className="field-label" htmlFor="cron-every">Every how many minutes</label>
          <input
            id="cron-every"
            className="input"
            type="number"
            min={1}
            max={1440}
            value={preset.every}
            readOnly={readOnly}
            data-testid="cron-every"
            onChange={(e) => apply({ kind: "minutes", every: Number(e.target.value) || 1 })}
          />
        </div>
      )}
      {preset.kind === "hourly" && (
        <div className="field">
          <label className="field-label" htmlFor="cron-minute">At minute</label>
          <input
            id="cron-minute"
            className="input"
            type="number"
            min={0}
            max={59}
            value={preset.minute}
            readOnly={readOnly}
            data-testid="cron-minute"
            onChange={(e) => apply({ kind: "hourly", minute: Number(e.target.value) || 0 })}
          />
        </div>
      )}
      {(preset.kind === "daily" || preset.kind === "weekdays") && (
        <div className="field">
          <label className="field-label" htmlFor="cron-time">At (HH:MM, {scheduleWindow.timezone})</label>
          <input
            id="cron-time"
            className={`input ${parseTime(timeText) ? "" : "invalid"}`}
            value={timeText}
            placeholder="09:00"
            readOnly={readOnly}
            data-testid="cron-time"
            onChange={(e) => {
              setTimeText(e.target.value);
              const t = parseTime(e.target.value);
              if (t) {
                const p = { kind: preset.kind, ...t } as CronPreset;
                setPreset(p);
                onChange(presetExpression(p));
              }
            }}
          />
        </div>
      )}
      <div className="field">
        <label className="field-label" htmlFor="cron-expression">Expression</label>
        <input
          id="cron-expression"
          className={`input mono ${next.error ? "invalid" : ""}`}
          value={expression}
          readOnly={readOnly || preset.kind !== "custom"}
          data-testid="cron-expression"
          onChange={(e) => {
            setPreset({ kind: "custom", expression: e.target.value });
            onChange(e.target.value);
          }}
        />
        <div className="field-help">{describePreset(preset, scheduleWindow.timezone)}</div>
      </div>
      <div className="cron-next" aria-live="polite">
        <div className="field-label">
          Next fire times in your time zone ({userZone}){next.busy && <span className="muted small"> · checking…</span>}
        </div>
        {next.error ? (
          <div className="field-error" data-testid="cron-error">{next.error}</div>
        ) : next.times === null ? (
          <div className="muted small">…</div>
        ) : next.times.length === 0 ? (
          <div className="muted small" data-testid="cron-none">This schedule has no more fire times.</div>
        ) : (
          <ol className="cron-times" data-testid="cron-next" data-expression={next.of?.expression} data-timezone={next.of?.timezone}>
            {next.times.map((t) => (
              <li key={t} data-testid="cron-next-time" data-iso={t}>
                {formatInZone(t, userZone)}
                {scheduleWindow.timezone !== userZone && <span className="muted small"> · {formatInZone(t, scheduleWindow.timezone)}</span>}
              </li>
            ))}
          </ol>
        )}
      </div>
    </div>
  );
}
