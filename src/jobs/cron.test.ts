import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextRun, presetCrons, validateCron } from './cron.ts';

test('presets fire at the top of the hour, at midnight and on Sunday midnight, in UTC', () => {
  const t = Date.parse('2026-01-01T10:30:00Z'); // a Thursday
  assert.equal(new Date(nextRun(presetCrons.Hourly, t)).toISOString(), '2026-01-01T11:00:00.000Z');
  assert.equal(new Date(nextRun(presetCrons.Daily, t)).toISOString(), '2026-01-02T00:00:00.000Z');
  assert.equal(new Date(nextRun(presetCrons.Weekly, t)).toISOString(), '2026-01-04T00:00:00.000Z');
});

test('the next run is strictly after the given time', () => {
  const t = Date.parse('2026-01-01T11:00:00Z');
  assert.equal(new Date(nextRun('0 0 * * * *', t)).toISOString(), '2026-01-01T12:00:00.000Z');
  assert.equal(new Date(nextRun('0 */5 * * * *', t)).toISOString(), '2026-01-01T11:05:00.000Z');
});

test("Harbor's rules: six fields, seconds 0, no descriptors", () => {
  assert.throws(() => validateCron('0 0 * * *'), /invalid cron 0 0 \* \* \*: expected exactly 6 fields/);
  assert.throws(() => validateCron('5 0 * * * *'), /the 1st field \(indicating Seconds of time\) of the cron setting must be 0/);
  assert.throws(() => validateCron('@daily'), /invalid cron @daily/);
  assert.throws(() => validateCron('0 61 * * * *'), /invalid cron 0 61/);
  assert.doesNotThrow(() => validateCron('0 30 2 * * 1-5'));
});
