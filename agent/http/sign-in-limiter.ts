/**
 * Failed sign-ins per remote address in a sliding window: after `maxFailures` in `windowMs` the
 * address gets 429 with Retry-After until its oldest failure leaves the window. The table is
 * bounded (`maxAddresses`; the least recently failing address goes first), so a flood from many
 * addresses costs memory once, not without end. A success clears the address.
 */

export interface SignInLimitOptions {
  maxFailures: number;
  windowMs: number;
  maxAddresses: number;
}

export const SIGN_IN_LIMIT_DEFAULTS: SignInLimitOptions = { maxFailures: 5, windowMs: 60_000, maxAddresses: 10_000 };

export class SignInLimiter {
  private readonly opts: SignInLimitOptions;
  /** address → times of its failures inside the window, oldest first; Map order: least recent first */
  private readonly failures = new Map<string, number[]>();

  constructor(options: Partial<SignInLimitOptions> = {}) {
    this.opts = { ...SIGN_IN_LIMIT_DEFAULTS, ...options };
  }

  get addresses(): number {
    return this.failures.size;
  }

  /** Seconds until this address may try again; 0 when it may now. */
  retryAfterS(address: string, now = Date.now()): number {
    const times = this.recent(address, now);
    if (times.length < this.opts.maxFailures) return 0;
    const oldest = times[times.length - this.opts.maxFailures] ?? now;
    return Math.max(1, Math.ceil((oldest + this.opts.windowMs - now) / 1000));
  }

  failed(address: string, now = Date.now()): void {
    const times = this.recent(address, now);
    times.push(now);
    // only the last maxFailures matter for the verdict
    if (times.length > this.opts.maxFailures) times.splice(0, times.length - this.opts.maxFailures);
    this.failures.delete(address);
    this.failures.set(address, times);
    while (this.failures.size > this.opts.maxAddresses) {
      const first = this.failures.keys().next().value;
      if (first === undefined) break;
      this.failures.delete(first);
    }
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }

  private recent(address: string, now: number): number[] {
    const times = this.failures.get(address);
    if (times === undefined) return [];
    const from = now - this.opts.windowMs;
    const kept = times.filter((t) => t > from);
    if (kept.length === 0) this.failures.delete(address);
    else if (kept.length !== times.length) this.failures.set(address, kept);
    return kept;
  }
}
