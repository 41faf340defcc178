import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, nextDelay, parseRetryAfter } from './retry.ts';

test('classify: 2xx success; none, 408, 429, 5xx retried; other codes fail at once', () => {
  for (const s of [200, 201, 202, 204, 299]) assert.equal(classify({ status: s }), 'success');
  for (const s of [null, 408, 429, 500, 502, 503, 504, 599]) assert.equal(classify({ status: s }), 'retry');
  for (const s of [100, 301, 302, 304, 307, 308, 400, 401, 403, 404, 410, 413, 422]) assert.equal(classify({ status: s }), 'fail');
  assert.equal(classify({ status: null, refused: true }), 'fail');
});

test('parseRetryAfter: seconds, HTTP dates, junk', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('1.5', now), 1500);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter('', now), null);
  assert.equal(parseRetryAfter(undefined, now), null);
  assert.equal(parseRetryAfter(['7', '9'], now), 7000);
});

const schedule = [0, 10, 60, 300, 1800, 7200, 21600, 43200];

test('nextDelay follows the schedule with ±20 % jitter and stops when it is exhausted', () => {
  assert.equal(nextDelay({ attemptsMade: 1, schedule, retryAfterMs: null, random: 0.5 }), 10_000);
  assert.equal(nextDelay({ attemptsMade: 1, schedule, retryAfterMs: null, random: 0 }), 8000);
  assert.equal(nextDelay({ attemptsMade: 1, schedule, retryAfterMs: null, random: 0.999999 }), 12_000);
  assert.equal(nextDelay({ attemptsMade: 2, schedule, retryAfterMs: null, random: 0.5 }), 60_000);
  assert.equal(nextDelay({ attemptsMade: 7, schedule, retryAfterMs: null, random: 0.5 }), 43_200_000);
  assert.equal(nextDelay({ attemptsMade: 8, schedule, retryAfterMs: null, random: 0.5 }), null);
  assert.equal(nextDelay({ attemptsMade: 1, schedule: [0], retryAfterMs: null }), null);
  for (let i = 0; i < 200; i++) {
    const d = nextDelay({ attemptsMade: 3, schedule, retryAfterMs: null });
    assert.ok(d !== null && d >= 240_000 && d <= 360_000, String(d));
  }
});

test('Retry-After only lengthens the wait, capped at the longest step', () => {
  assert.equal(nextDelay({ attemptsMade: 1, schedule, retryAfterMs: 30_000, random: 0.5 }), 30_000);
  assert.equal(nextDelay({ attemptsMade: 1, schedule, retryAfterMs: 1000, random: 0.5 }), 10_000);
  assert.equal(nextDelay({ attemptsMade: 1, schedule, retryAfterMs: 10 * 86_400_000, random: 0.5 }), 43_200_000);
  assert.equal(nextDelay({ attemptsMade: 1, schedule: [0, 0.2, 1.5], retryAfterMs: 1000, random: 0.5 }), 1000);
  // The cap is the longest step even when the last step is shorter; jitter never exceeds it either.
  assert.equal(nextDelay({ attemptsMade: 1, schedule: [0, 5, 1], retryAfterMs: 60_000, random: 0.5 }), 5000);
  assert.equal(nextDelay({ attemptsMade: 1, schedule: [0, 5, 1], retryAfterMs: null, random: 0.999 }), 5000);
});
