/**
 * What an attempt means for its delivery, decided before anything is written: a pure function of
 * the attempt number, what the attempt gave, the retry schedule and the time (./retry.ts decides
 * the verdict and the delay). The delivery worker records what `decideOutcome` returns; the
 * target's health (./auto-disable.ts) may then stop a delivery that would have been retried.
 *
 * A task and its execution always share the status: Running while another attempt is due,
 * otherwise final (Success, Error or Stopped) with an end time.
 */
import { nextDelay, parseRetryAfter } from './retry.ts';
import type { AttemptRecord } from './delivery-attempt.ts';

/** The statuses after which a task or execution never changes again. */
export type FinalStatus = 'Success' | 'Error' | 'Stopped';

/** The statuses of webhook tasks and executions (Harbor's task statuses). */
export type DeliveryStatus = 'Pending' | 'Running' | FinalStatus;

/** True when `status` (as stored) is final. */
export function isFinal(status: string): status is FinalStatus {
  return status === 'Success' || status === 'Error' || status === 'Stopped';
}

/** The decision about a delivery after one attempt. */
export type Outcome =
  | { status: 'Success'; message: ''; nextAttemptAt: null }
  | { status: 'Running'; message: string; nextAttemptAt: number; failure: string }
  | { status: 'Error' | 'Stopped'; message: string; nextAttemptAt: null; failure: string };

/** What decides an outcome: the attempt's verdict and what the receiver answered. */
export type AttemptResponse = Pick<AttemptRecord, 'verdict' | 'responseStatus' | 'responseHeaders' | 'error'>;

/** The one success outcome (as Harbor: no message on success; the attempt row has the status). */
const succeeded: Outcome = { status: 'Success', message: '', nextAttemptAt: null };

/** A short description of what an attempt gave, for status messages and the disable reason. */
export function outcomeText(r: Pick<AttemptRecord, 'responseStatus' | 'error'>): string {
  if (r.responseStatus !== null) return `HTTP ${r.responseStatus}`;
  return r.error ?? 'no response';
}

/**
 * The outcome of attempt number `attempt` (1 for the first) that gave `response`, at `now`: Success;
 * Running with the next attempt's time (the schedule's next step with jitter, lengthened by a
 * `Retry-After`); or Error when the verdict is fail or the schedule is used up. `random` in [0, 1)
 * sets the jitter (Math.random() by default; tests pass fixed values).
 */
export function decideOutcome(attempt: number, response: AttemptResponse, schedule: readonly number[], now: number, random?: number): Outcome {
  if (response.verdict === 'success') return succeeded;
  const failure = `attempt ${attempt} of ${schedule.length} failed: ${outcomeText(response)}`;
  if (response.verdict === 'retry') {
    const retryAfterMs = response.responseHeaders ? parseRetryAfter(response.responseHeaders['retry-after'], now) : null;
    const delay = nextDelay({ attemptsMade: attempt, schedule, retryAfterMs, random });
    if (delay !== null) {
      const nextAttemptAt = now + delay;
      return { status: 'Running', message: `${failure}; next attempt at ${new Date(nextAttemptAt).toISOString()}`, nextAttemptAt, failure };
    }
    return { status: 'Error', message: `${failure}; no attempts left`, nextAttemptAt: null, failure };
  }
  return { status: 'Error', message: `${failure} (not retried)`, nextAttemptAt: null, failure };
}

/**
 * The outcome once the attempt's failure disabled the target (`reason`): a delivery that would
 * have been retried ends Stopped; a final one stays as it was.
 */
export function stoppedByDisable(outcome: Outcome, reason: string): Outcome {
  if (outcome.status !== 'Running') return outcome;
  return { status: 'Stopped', message: `${outcome.failure}; stopped: ${reason}`, nextAttemptAt: null, failure: outcome.failure };
}
