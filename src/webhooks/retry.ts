/**
 * Retry policy for webhook deliveries, pure: how an attempt's outcome is classified, and when
 * the next attempt is due.
 *
 * - 2xx: success.
 * - No response (network error, DNS failure, TLS failure, timeout), 408, 429 and 5xx: retried.
 * - Every other status (3xx, since redirects are never followed, and 4xx): failed at once; the
 *   receiver said the request itself is wrong, and sending it again will not change that.
 * - A request refused by Wharf's own guard (SSRF policy, invalid target) also fails at once.
 *
 * `retry_schedule` lists the delay before each attempt in seconds, the first being the initial
 * attempt (normally 0): its length is the number of attempts. Each retry delay gets ±20 % jitter.
 * A `Retry-After` answer (seconds or an HTTP date) can only lengthen the wait, and never beyond
 * the longest step of the schedule.
 */

/** What an attempt's outcome means for the delivery. */
export type Verdict = 'success' | 'retry' | 'fail';

/** The facts about an attempt that decide its verdict. */
export interface AttemptOutcome {
  /** HTTP status, or null when no response arrived. */
  status: number | null;
  /** True when Wharf refused to send (SSRF policy, bad URL, bad secret): never retried. */
  refused?: boolean;
}

/** Classifies an attempt. */
export function classify(outcome: AttemptOutcome): Verdict {
  if (outcome.refused) return 'fail';
  const s = outcome.status;
  if (s === null) return 'retry';
  if (s >= 200 && s < 300) return 'success';
  if (s === 408 || s === 429 || s >= 500) return 'retry';
  return 'fail';
}

/** Share of each delay added or removed at random. */
export const jitterRatio = 0.2;

/**
 * Parses a `Retry-After` value into milliseconds from `now`: delta-seconds or an HTTP date.
 * Returns null when absent or unparseable; negative waits become 0.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return null;
  const t = v.trim();
  if (t === '') return null;
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  if (/^\d+\.\d+$/.test(t)) return Math.round(Number(t) * 1000);
  const date = Date.parse(t);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/** Inputs of {@link nextDelay}. */
export interface NextDelayInput {
  /** Attempts made so far, this failed one included (1 after the first attempt). */
  attemptsMade: number;
  /** The configured schedule, in seconds (`webhooks.retry_schedule`). */
  schedule: readonly number[];
  /** The receiver's `Retry-After`, already in ms (see {@link parseRetryAfter}), or null. */
  retryAfterMs: number | null;
  /** A number in [0, 1) (Math.random by default); tests pass fixed values. */
  random?: number;
}

/**
 * Milliseconds to wait before the next attempt, or null when the schedule is exhausted.
 * delay = min(max(step ± 20 %, Retry-After), longest step).
 */
export function nextDelay(input: NextDelayInput): number | null {
  const { attemptsMade, schedule } = input;
  if (attemptsMade >= schedule.length) return null;
  const stepMs = (schedule[attemptsMade] ?? 0) * 1000;
  const r = input.random ?? Math.random();
  const jittered = stepMs * (1 + jitterRatio * (2 * r - 1));
  const capMs = Math.max(0, ...schedule) * 1000;
  const wanted = Math.max(jittered, input.retryAfterMs ?? 0);
  return Math.round(Math.min(wanted, capMs));
}

/** Delay before the first attempt (the schedule's first step, no jitter), in ms. */
export function firstDelay(schedule: readonly number[]): number {
  return Math.round((schedule[0] ?? 0) * 1000);
}
