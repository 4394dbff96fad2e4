/** Query parameters shared by the HTTP routes. */
import { z } from 'zod';

/** The last millisecond of year 9999: later times have no ISO 8601 text (toISOString throws). */
export const MAX_TIME_MS = 253_402_300_799_999;

/** A time parameter: ISO 8601 or epoch milliseconds, from 1970 to the year 9999 (optional). */
export const timeParam = z
  .string()
  .max(64)
  .transform((s, ctx) => {
    const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isFinite(t)) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not an ISO 8601 time or epoch milliseconds` });
      return z.NEVER;
    }
    if (t < 0 || t > MAX_TIME_MS) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is outside 1970 … 9999` });
      return z.NEVER;
    }
    return t;
  })
  .optional();
