/**
 * Failed-login rate limiting, per user name and per client address. A name that has failed
 * `maxPerUser` times within the window (or an address that failed `maxPerAddress` times) is refused
 * with TOOMANYREQUESTS until the window has passed, correct password or not. The name is counted
 * whether or not such a user exists, so the answers never reveal which users exist.
 *
 * The counters live in a {@link LoginFailureStore}: the database's `login_failures` (Wharf's, so
 * failures on one instance count on every instance sharing the database), or this process's
 * memory (the default, for tests). A check is one read; a successful login writes only when the
 * name had failures to clear. Every failure is announced on `loginFailures` so the audit log can
 * record it.
 */
import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import { loginStore, type Database } from '../db/index.ts';
import { fail } from '../domain/index.ts';

/** One failed login, as announced on {@link LoginLimiter.loginFailures}. */
export interface LoginFailure {
  /** The user name that was tried (may name no user). */
  username: string;
  /** The client address. */
  address: string;
  /** Milliseconds since the epoch. */
  at: number;
  /** Where the credentials were presented: `/v2`, `/api/v2.0` or `/service/token`. */
  surface: string;
  /** Why it failed: wrong credentials, or refused because the name or address is locked. */
  reason: 'invalid_credentials' | 'rate_limited';
}

/** Where the limiter keeps failures (names already lower-cased; times in ms). */
export interface LoginFailureStore {
  /** Failures of `username` and of `address` after `since`, each counted up to `cap`. */
  counts(username: string, address: string, since: number, cap: number): Promise<{ user: number; address: number }>;
  /** Records one failure of `username` from `address` at `at`. */
  add(username: string, address: string, at: number): Promise<void>;
  /** Forgets the failures of `username`. */
  clearUser(username: string): Promise<void>;
  /** Removes failures at or before `before`. */
  prune(before: number): Promise<void>;
}

/** What {@link LoginLimiter.check} saw: the name's failures within the window (0: a success has nothing to clear). */
export interface LoginCheck {
  userFailures: number;
}

/** The limiter's settings. */
export interface LoginLimiterOptions {
  /** Failures of one user name within the window before it is locked. */
  maxPerUser: number;
  /** Failures from one address within the window before it is locked. */
  maxPerAddress: number;
  /** The window and lock length, in milliseconds. */
  windowMs: number;
  /** Clock (tests). */
  now?: () => number;
  /** Where failures are kept (default: this process's memory). */
  store?: LoginFailureStore;
}

/** The event map of {@link LoginLimiter.loginFailures}. */
export interface LoginFailureEvents {
  failure: [LoginFailure];
}

/** Most often a process prunes failures that fell out of the window, ms. */
const pruneEveryMs = 60_000;

/** Counts failed logins and refuses locked names and addresses. */
export class LoginLimiter {
  /** Emits `failure` with a {@link LoginFailure} for every failed or refused login. */
  readonly loginFailures = new EventEmitter<LoginFailureEvents>();
  private readonly now: () => number;
  private readonly store: LoginFailureStore;
  private lastPrune = 0;

  constructor(private readonly opts: LoginLimiterOptions) {
    this.now = opts.now ?? Date.now;
    this.store = opts.store ?? new MemoryLoginStore();
  }

  /**
   * Throws TOOMANYREQUESTS when the name or the address is locked (and announces the refusal);
   * otherwise returns what it saw, for {@link recordSuccess}.
   */
  async check(username: string, address: string, surface: string): Promise<LoginCheck> {
    const t = this.now();
    const cap = Math.max(this.opts.maxPerUser, this.opts.maxPerAddress);
    const c = await this.store.counts(username.toLowerCase(), address, t - this.opts.windowMs, cap);
    const userLocked = c.user >= this.opts.maxPerUser;
    const addrLocked = c.address >= this.opts.maxPerAddress;
    if (!userLocked && !addrLocked) return { userFailures: c.user };
    this.emit({ username, address, at: t, surface, reason: 'rate_limited' });
    const seconds = Math.ceil(this.opts.windowMs / 1000);
    throw fail('TOOMANYREQUESTS', `too many failed logins; try again in up to ${seconds} seconds`);
  }

  /** Records a failed login of `username` from `address`. */
  async recordFailure(username: string, address: string, surface: string): Promise<void> {
    const t = this.now();
    // Announced first: a store that fails must not hide the failure from the audit log.
    this.emit({ username, address, at: t, surface, reason: 'invalid_credentials' });
    await this.store.add(username.toLowerCase(), address, t);
    if (t - this.lastPrune >= pruneEveryMs || t < this.lastPrune) {
      this.lastPrune = t;
      await this.store.prune(t - this.opts.windowMs);
    }
  }

  /**
   * Clears the name's failures after a successful login (the address keeps its count). With the
   * `seen` of this login's {@link check} showing no failures, nothing is written.
   */
  async recordSuccess(username: string, seen?: LoginCheck): Promise<void> {
    if (seen && seen.userFailures === 0) return;
    await this.store.clearUser(username.toLowerCase());
  }

  private emit(f: LoginFailure): void {
    // A listener that throws must not turn a login answer into a 500.
    try {
      this.loginFailures.emit('failure', f);
    } catch {
      /* the subscriber's problem; the answer stands */
    }
  }
}

/** Failures in this process's memory (a restart forgets them; other processes count apart). */
export class MemoryLoginStore implements LoginFailureStore {
  /** Scope-prefixed key -> failure times, oldest first. */
  private readonly times = new Map<string, number[]>();

  async counts(username: string, address: string, since: number, cap: number): Promise<{ user: number; address: number }> {
    return { user: Math.min(cap, this.count(`u:${username}`, since)), address: Math.min(cap, this.count(`a:${address}`, since)) };
  }

  async add(username: string, address: string, at: number): Promise<void> {
    this.push(`u:${username}`, at);
    this.push(`a:${address}`, at);
  }

  async clearUser(username: string): Promise<void> {
    this.times.delete(`u:${username}`);
  }

  async prune(before: number): Promise<void> {
    for (const key of [...this.times.keys()]) this.count(key, before);
  }

  private count(key: string, since: number): number {
    const list = this.times.get(key);
    if (!list) return 0;
    while (list.length > 0 && (list[0] ?? 0) <= since) list.shift();
    if (list.length === 0) this.times.delete(key);
    return list.length;
  }

  private push(key: string, t: number): void {
    const list = this.times.get(key) ?? [];
    list.push(t);
    // Never keep more than needed to decide; bounds memory under a flood of failures.
    if (list.length > 1000) list.splice(0, list.length - 1000);
    this.times.set(key, list);
  }
}

/** Failures in the database's `login_failures` table, shared by every instance on that database. */
export function databaseLoginStore(db: Kysely<Database>): LoginFailureStore {
  return {
    counts: (username, address, since, cap) => loginStore.counts(db, username, address, since, cap),
    add: (username, address, at) => loginStore.add(db, username, address, at),
    clearUser: (username) => loginStore.clearUser(db, username),
    prune: async (before) => {
      await loginStore.prune(db, before);
    },
  };
}
