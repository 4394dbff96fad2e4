/** A DriverContext that records what a driver hands over: samples, state changes and log lines. */
import type { Sample } from '../../agent/model/index.ts';
import type { DriverContext, SourceState } from '../../drivers/driver.ts';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

export interface RecordingContext {
  ctx: DriverContext;
  samples: Sample[];
  states: { state: SourceState; detail: string | undefined; at: number }[];
  logs: LogLine[];
  state(): SourceState | undefined;
}

export function recordingContext(): RecordingContext {
  const samples: Sample[] = [];
  const states: RecordingContext['states'] = [];
  const logs: LogLine[] = [];
  const line = (level: LogLine['level']) => (obj: object, msg?: string): void => {
    logs.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '' });
  };
  const ctx: DriverContext = {
    emit: (s) => samples.push(...s),
    commit: (s) => samples.push(...s),
    deadLetter: () => undefined,
    setState: (state, detail) => {
      const last = states.at(-1);
      if (last && last.state === state && last.detail === detail) return;
      states.push({ state, detail, at: Date.now() });
    },
    log: { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') },
  };
  return { ctx, samples, states, logs, state: () => states.at(-1)?.state };
}
