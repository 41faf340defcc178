import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossesThreshold, exceedDetails, formatBytes, warningDetails } from './quotas.ts';

test('formatBytes renders sizes as Harbor does', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1.0 KiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(10 * 1024 * 1024), '10.0 MiB');
  assert.equal(formatBytes(Math.round(2.1 * 1024 * 1024)), '2.1 MiB');
  assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB');
});

test('the Details texts follow Harbor', () => {
  assert.equal(
    exceedDetails(Math.round(2.1 * 1024 * 1024), Math.round(8.3 * 1024 * 1024), 10 * 1024 * 1024),
    'adding 2.1 MiB of storage resource, which when updated to current usage of 8.3 MiB will exceed the configured upper limit of 10.0 MiB.',
  );
  assert.equal(warningDetails(85, Math.round(12.6 * 1024 * 1024), 14 * 1024 * 1024), 'quota usage reach 85%: resource storage used 12.6 MiB of 14.0 MiB');
});

test('crossesThreshold is true only when usage goes from below to at or above the threshold', () => {
  assert.equal(crossesThreshold(0, 849, 1000, 85), false);
  assert.equal(crossesThreshold(0, 850, 1000, 85), true);
  assert.equal(crossesThreshold(849, 1000, 1000, 85), true);
  assert.equal(crossesThreshold(850, 900, 1000, 85), false);
  assert.equal(crossesThreshold(0, 10_000, -1, 85), false);
});
