/** decideHealth: when a failing target starts counting, and when it is disabled. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideHealth } from './auto-disable.ts';

const now = Date.parse('2026-01-02T00:00:00Z');

test('the first failure of a run starts the clock; nothing is disabled yet', () => {
  assert.deepEqual(decideHealth({ failing_since: null, enabled: 1 }, now, 3600, 'HTTP 500'), { startFailing: true, since: now, disableReason: null });
});

test('failing for less than the limit keeps the target; at the limit it is disabled with the reason', () => {
  assert.deepEqual(decideHealth({ failing_since: now - 3_599_999, enabled: 1 }, now, 3600, 'HTTP 500'), { startFailing: false, since: now - 3_599_999, disableReason: null });
  assert.deepEqual(decideHealth({ failing_since: now - 3_600_000, enabled: 1 }, now, 3600, 'HTTP 500'), {
    startFailing: false,
    since: now - 3_600_000,
    disableReason: 'failing continuously since 2026-01-01T23:00:00.000Z (more than 3600 s); last error: HTTP 500',
  });
});

test('a target disabled already is not disabled again', () => {
  assert.equal(decideHealth({ failing_since: now - 86_400_000, enabled: 0 }, now, 3600, 'HTTP 500').disableReason, null);
});

test('a limit of 0 disables at the first failure', () => {
  assert.match(decideHealth({ failing_since: null, enabled: 1 }, now, 0, 'no response').disableReason ?? '', /^failing continuously since 2026-01-02T00:00:00.000Z \(more than 0 s\); last error: no response$/);
});
