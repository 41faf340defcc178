import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideGate, severityCode, type GateFacts } from './gate.ts';

const base: GateFacts = { threshold: 'high', bypass: false, scannable: true, isIndex: false, report: null, allowlist: new Set() };
const success = (items: Array<{ id: string; severity: string }>) => ({ status: 'Success', items });

test('severity codes follow Harbor', () => {
  assert.deepEqual(['None', 'Unknown', 'Negligible', 'Low', 'Medium', 'High', 'Critical', 'bogus'].map(severityCode), [0, 0, 1, 2, 3, 4, 5, 99]);
});

test('an unscanned scannable image is refused with message A; unscannable artifacts and indexes pass', () => {
  assert.deepEqual(decideGate(base), {
    allow: false,
    message:
      `current image without vulnerability scanning cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of "High" or higher from running.' To continue with pull, please contact your project administrator for help.`,
  });
  assert.deepEqual(decideGate({ ...base, scannable: false }), { allow: true });
  assert.deepEqual(decideGate({ ...base, isIndex: true }), { allow: true });
  assert.deepEqual(decideGate({ ...base, bypass: true }), { allow: true });
});

test('a report that is not Success is refused with message B', () => {
  const d = decideGate({ ...base, report: { status: 'Running', items: [] } });
  assert.deepEqual(d, {
    allow: false,
    message: `current image with "Running" status of vulnerability scanning cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of "High" or higher from running.' To continue with pull, please contact your project administrator for help.`,
  });
});

test('findings at or above the threshold are refused with message C; the allowlist exempts them', () => {
  const items = [
    { id: 'CVE-2023-0001', severity: 'High' },
    { id: 'CVE-2023-0002', severity: 'Low' },
    { id: 'CVE-2023-0003', severity: 'Medium' },
  ];
  assert.deepEqual(decideGate({ ...base, report: success(items) }), {
    allow: false,
    message: `current image with 3 vulnerabilities cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of "High" or higher from running.' To continue with pull, please contact your project administrator to exempt matched vulnerabilities through configuring the CVE allowlist.`,
  });
  assert.deepEqual(decideGate({ ...base, report: success(items), allowlist: new Set(['CVE-2023-0001']) }), { allow: true });
  const one = decideGate({ ...base, threshold: 'medium', report: success(items), allowlist: new Set(['CVE-2023-0001', 'CVE-2023-0002']) });
  assert.equal(one.allow, false);
  assert.match(one.allow ? '' : one.message, /^current image with 1 vulnerability cannot be pulled .*"Medium" or higher/);
});

test('threshold none (or absent) blocks any finding, Unknown included; low lets Negligible pass; clean images pass', () => {
  const unknown = success([{ id: 'CVE-2020-1', severity: 'Unknown' }]);
  assert.equal(decideGate({ ...base, threshold: 'none', report: unknown }).allow, false);
  assert.equal(decideGate({ ...base, threshold: '', report: unknown }).allow, false);
  const negligible = success([{ id: 'CVE-2020-2', severity: 'Negligible' }]);
  assert.equal(decideGate({ ...base, threshold: 'low', report: negligible }).allow, true);
  assert.equal(decideGate({ ...base, threshold: 'none', report: success([]) }).allow, true);
  assert.equal(decideGate({ ...base, threshold: 'critical', report: success([{ id: 'CVE-1', severity: 'High' }]) }).allow, true);
});
