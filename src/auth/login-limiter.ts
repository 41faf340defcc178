/**
 * Failed-login rate limiting, per user name and per client address. A name that has failed
 * `maxPerUser` times within the window (or an address that failed `maxPerAddress` times) is refused
 * with TOOMANYREQUESTS until the window has passed, correct password or not. The name is counted
 * whether or not such a user exists, so the answers never reveal which users exist.
 *
 * State is kept in this process's memory (a restart forgets it; several processes count apart).
 * Every failure is announced on `loginFailures` so the audit log can record it.
 */
import { EventEmitter } from 'node:events';
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
}

/** The event map of {@link LoginLimiter.loginFailures}. */
export interface LoginFailureEvents {
  failure: [LoginFailure];
}

interface Counter {
  /** Failure times within the window, oldest first. */
  times: number[];
}

/** Counts failed logins and refuses locked names and addresses. */
export class LoginLimiter {
  /** Emits `failure` with a {@link LoginFailure} for every failed or refused login. */
  readonly loginFailures = new EventEmitter<LoginFailureEvents>();
  private readonly users = new Map<string, Counter>();
  private readonly addresses = new Map<string, Counter>();
  private readonly now: () => number;

  constructor(private readonly opts: LoginLimiterOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Throws TOOMANYREQUESTS when the name or the address is locked (and announces the refusal). */
  check(username: string, address: string, surface: string): void {
    const t = this.now();
    const userLocked = this.count(this.users, username.toLowerCase(), t) >= this.opts.maxPerUser;
    const addrLocked = this.count(this.addresses, address, t) >= this.opts.maxPerAddress;
    if (!userLocked && !addrLocked) return;
    this.emit({ username, address, at: t, surface, reason: 'rate_limited' });
    const seconds = Math.ceil(this.opts.windowMs / 1000);
    throw fail('TOOMANYREQUESTS', `too many failed logins; try again in up to ${seconds} seconds`);
  }

  /** Records a failed login of `username` from `address`. */
  recordFailure(username: string, address: string, surface: string): void {
    const t = this.now();
    this.push(this.users, username.toLowerCase(), t);
    this.push(this.addresses, address, t);
    this.emit({ username, address, at: t, surface, reason: 'invalid_credentials' });
  }

  /** Clears the name's failures after a successful login (the address keeps its count). */
  recordSuccess(username: string): void {
    this.users.delete(username.toLowerCase());
  }

  private emit(f: LoginFailure): void {
    // A listener that throws must not turn a login answer into a 500.
    try {
      this.loginFailures.emit('failure', f);
    } catch {
      /* the subscriber's problem; the answer stands */
    }
  }

  private count(map: Map<string, Counter>, key: string, t: number): number {
    const c = map.get(key);
    if (!c) return 0;
    while (c.times.length > 0 && (c.times[0] ?? 0) <= t - this.opts.windowMs) c.times.shift();
    if (c.times.length === 0) map.delete(key);
    return c.times.length;
  }

  private push(map: Map<string, Counter>, key: string, t: number): void {
    this.count(map, key, t);
    const c = map.get(key) ?? { times: [] };
    c.times.push(t);
    // Never keep more than needed to decide; bounds memory under a flood of failures.
    const cap = Math.max(this.opts.maxPerUser, this.opts.maxPerAddress) + 1;
    if (c.times.length > cap) c.times.splice(0, c.times.length - cap);
    map.set(key, c);
    if (map.size > 100_000) this.sweep(map, t);
  }

  private sweep(map: Map<string, Counter>, t: number): void {
    for (const key of [...map.keys()]) this.count(map, key, t);
  }
}
