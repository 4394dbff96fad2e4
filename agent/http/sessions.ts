/**
 * Dashboard sessions: a random id in the cookie, its expiry kept here. Signing out deletes the
 * id, so a copied cookie stops working at once. Kept in memory, bounded: a restart signs every
 * screen out (kiosks show the login form again), which is the price of not writing secrets to
 * disk; a full table evicts the oldest session. Ids are 256 random bits: a Map lookup leaks
 * nothing an attacker could use to guess one.
 */
import { randomBytes } from 'node:crypto';

export interface SessionOptions {
  /** how long a sign-in lasts, seconds */
  maxAgeS: number;
  /** sessions kept at most (screens, tablets, laptops of one plant) */
  maxSessions: number;
}

export const SESSION_DEFAULTS: SessionOptions = { maxAgeS: 30 * 86_400, maxSessions: 1000 };

/** 32 random bytes, base64url: 43 characters. */
const ID = /^[A-Za-z0-9_-]{43}$/;

export class SessionStore {
  private readonly opts: SessionOptions;
  /** id → expiry (epoch ms); insertion order is creation order */
  private readonly sessions = new Map<string, number>();

  constructor(options: Partial<SessionOptions> = {}) {
    this.opts = { ...SESSION_DEFAULTS, ...options };
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session id, valid for maxAgeS. */
  create(now = Date.now()): string {
    this.prune(now);
    while (this.sessions.size >= this.opts.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, now + this.opts.maxAgeS * 1000);
    return id;
  }

  /** True for a known, unexpired id. Anything else (garbage included) is simply not a session. */
  valid(id: string | undefined, now = Date.now()): boolean {
    if (id === undefined || !ID.test(id)) return false;
    const expires = this.sessions.get(id);
    if (expires === undefined) return false;
    if (expires <= now) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  revoke(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }

  private prune(now: number): void {
    for (const [id, expires] of this.sessions) if (expires <= now) this.sessions.delete(id);
  }
}
