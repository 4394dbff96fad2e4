/** Query parameters shared by the HTTP routes. */
import { z } from 'zod';

/** A time parameter: ISO 8601 or epoch milliseconds (optional). */
export const timeParam = z
  .string()
  .transform((s, ctx) => {
    const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isFinite(t)) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not an ISO 8601 time or epoch milliseconds` });
      return z.NEVER;
    }
    return t;
  })
  .optional();
