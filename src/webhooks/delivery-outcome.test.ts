/** decideOutcome: what an attempt means for its delivery, decided before anything is written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideOutcome, isFinal, outcomeText, stoppedByDisable, type AttemptResponse } from './delivery-outcome.ts';

const schedule = [0, 10, 60];
const now = Date.parse('2026-01-01T00:00:00Z');
const answered = (status: number, headers: Record<string, string> = {}): AttemptResponse => ({
  verdict: status >= 200 && status < 300 ? 'success' : status === 429 || status >= 500 ? 'retry' : 'fail',
  responseStatus: status,
  responseHeaders: headers,
  error: null,
});
const noAnswer: AttemptResponse = { verdict: 'retry', responseStatus: null, responseHeaders: null, error: 'connect ECONNREFUSED 10.0.0.1:80' };

test('a success ends the delivery with no message', () => {
  assert.deepEqual(decideOutcome(1, answered(204), schedule, now), { status: 'Success', message: '', nextAttemptAt: null });
  assert.deepEqual(decideOutcome(3, answered(200), schedule, now), { status: 'Success', message: '', nextAttemptAt: null });
});

test('a retried failure is Running until the next step of the schedule, with jitter', () => {
  const o = decideOutcome(1, answered(503), schedule, now, 0.5);
  assert.deepEqual(o, {
    status: 'Running',
    message: 'attempt 1 of 3 failed: HTTP 503; next attempt at 2026-01-01T00:00:10.000Z',
    nextAttemptAt: now + 10_000,
    failure: 'attempt 1 of 3 failed: HTTP 503',
  });
  assert.equal(decideOutcome(2, noAnswer, schedule, now, 0).nextAttemptAt, now + 48_000, '60 s - 20 %');
  assert.equal(decideOutcome(2, noAnswer, schedule, now, 0).message, 'attempt 2 of 3 failed: connect ECONNREFUSED 10.0.0.1:80; next attempt at 2026-01-01T00:00:48.000Z');
});

test('Retry-After lengthens the wait, never beyond the longest step', () => {
  assert.equal(decideOutcome(1, answered(429, { 'retry-after': '30' }), schedule, now, 0.5).nextAttemptAt, now + 30_000);
  assert.equal(decideOutcome(1, answered(429, { 'retry-after': '3600' }), schedule, now, 0.5).nextAttemptAt, now + 60_000);
  assert.equal(decideOutcome(1, answered(429, { 'retry-after': '1' }), schedule, now, 0.5).nextAttemptAt, now + 10_000);
});

test('the last attempt of the schedule, and a failure not retried, end as Error', () => {
  assert.deepEqual(decideOutcome(3, answered(500), schedule, now, 0.5), {
    status: 'Error',
    message: 'attempt 3 of 3 failed: HTTP 500; no attempts left',
    nextAttemptAt: null,
    failure: 'attempt 3 of 3 failed: HTTP 500',
  });
  assert.deepEqual(decideOutcome(1, answered(404), schedule, now, 0.5), {
    status: 'Error',
    message: 'attempt 1 of 3 failed: HTTP 404 (not retried)',
    nextAttemptAt: null,
    failure: 'attempt 1 of 3 failed: HTTP 404',
  });
  const refused: AttemptResponse = { verdict: 'fail', responseStatus: null, responseHeaders: null, error: 'blocked by the SSRF policy: 169.254.169.254 is link-local' };
  assert.equal(decideOutcome(1, refused, schedule, now).message, 'attempt 1 of 3 failed: blocked by the SSRF policy: 169.254.169.254 is link-local (not retried)');
});

test('a disabled target stops a delivery that would have been retried; a final one stays', () => {
  const running = decideOutcome(1, answered(502), schedule, now, 0.5);
  assert.deepEqual(stoppedByDisable(running, 'the target was disabled after failing continuously'), {
    status: 'Stopped',
    message: 'attempt 1 of 3 failed: HTTP 502; stopped: the target was disabled after failing continuously',
    nextAttemptAt: null,
    failure: 'attempt 1 of 3 failed: HTTP 502',
  });
  const error = decideOutcome(3, answered(502), schedule, now, 0.5);
  assert.equal(stoppedByDisable(error, 'x'), error);
});

test('outcome text and final statuses', () => {
  assert.equal(outcomeText({ responseStatus: 418, error: 'ignored' }), 'HTTP 418');
  assert.equal(outcomeText({ responseStatus: null, error: null }), 'no response');
  assert.deepEqual(['Pending', 'Running', 'Success', 'Error', 'Stopped'].map(isFinal), [false, false, true, true, true]);
});
