import { test } from 'node:test';
import assert from 'node:assert/strict';
import { externalHost, goJson, imageReference, inStructOrder, repoShortName, rfc3339Nano, rfc3339Seconds, scanDetail, scanFacts, truncate, urlOrigin } from './common.ts';
import { scanCompleted, scanCompletedIndexChild, scanCompletedSbom, scanFailed, scanStopped } from '../../../test/fixtures/payloads/sample-events.ts';

test('common: goJson escapes like Go encoding/json and keeps insertion order', () => {
  assert.equal(goJson({ b: '<a href="x">&</a>', a: 1, u: undefined }), '{"b":"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e","a":1}');
  assert.equal(goJson({ s: '\u2028\u2029\n\t\u0001' }), '{"s":"\\u2028\\u2029\\n\\t\\u0001"}');
  assert.equal(goJson({ a: [1, {}], b: {} }, '   '), '{\n   "a": [\n      1,\n      {}\n   ],\n   "b": {}\n}');
});

test('common: timestamps in the layouts Go prints', () => {
  assert.equal(rfc3339Seconds(1680501893999), '2023-04-03T06:04:53Z');
  assert.equal(rfc3339Nano(1680501893000), '2023-04-03T06:04:53Z');
  assert.equal(rfc3339Nano(1680501893500), '2023-04-03T06:04:53.5Z');
  assert.equal(rfc3339Nano(1680501893050), '2023-04-03T06:04:53.05Z');
  assert.equal(rfc3339Nano(1680501893123), '2023-04-03T06:04:53.123Z');
});

test('common: external host without scheme, image references, repository names', () => {
  assert.equal(externalHost('https://harbor.example.com'), 'harbor.example.com');
  assert.equal(externalHost('http://HARBOR.example.com:8080/'), 'harbor.example.com:8080');
  assert.equal(externalHost('https://example.com/registry/'), 'example.com/registry');
  assert.equal(imageReference('https://h.example', 'p/r', 'v1'), 'h.example/p/r:v1');
  assert.equal(imageReference('https://h.example', 'p/r', 'sha256:ab'), 'h.example/p/r@sha256:ab');
  assert.equal(repoShortName('library/a/b'), 'a/b');
  assert.equal(repoShortName('single'), 'single');
  assert.equal(urlOrigin('https://user:pw@hooks.example.com:8443/services/T/B/SECRET?token=x'), 'https://hooks.example.com:8443');
  assert.equal(urlOrigin('not a url'), '');
});

test('common: inStructOrder reorders, applies omitempty and keeps unknown keys last', () => {
  const out = inStructOrder({ z: 1, b: '', a: false, c: [] , d: 0 }, [['a', true], ['b', false], ['c', true], ['d', false]]);
  assert.equal(JSON.stringify(out), '{"b":"","d":0,"z":1}');
});

test('common: truncate never exceeds the limit nor splits a surrogate pair', () => {
  assert.equal(truncate('abcdef', 6), 'abcdef');
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('ab😀cd', 4), 'ab…');
  assert.equal(truncate('abc', 0), '');
});

test('common: scanFacts reads counts, totals, scanner and Wharf fields; missing severities count 0', () => {
  assert.deepEqual(scanFacts(scanCompleted), {
    scanType: 'vulnerability',
    status: 'Success',
    severity: 'High',
    counts: { Critical: 0, High: 1, Medium: 2, Low: 0, Unknown: 0 },
    total: 3,
    fixable: 2,
    scanner: 'Trivy v0.37.2',
    sbomDigest: null,
    error: null,
    platform: null,
    parentDigest: null,
  });
  const child = scanFacts(scanCompletedIndexChild);
  assert.equal(child.platform, 'linux/arm64/v8');
  assert.equal(child.parentDigest, scanCompletedIndexChild.parentDigest);
  assert.deepEqual(child.counts, { Critical: 2, High: 0, Medium: 5, Low: 3, Unknown: 1 });
  const failed = scanFacts(scanFailed);
  assert.equal(failed.status, 'Error');
  assert.equal(failed.counts, null);
  assert.equal(failed.severity, null);
  assert.equal(scanFacts(scanCompletedSbom).sbomDigest, 'sha256:aaaa3f1b9c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7');
  // No report at all: the status comes from the event type.
  assert.equal(scanFacts({ ...scanStopped, overview: {} }).status, 'Stopped');
});

test('common: scanDetail says the counts, the SBOM, or the failure and its reason', () => {
  assert.equal(scanDetail(scanFacts(scanCompleted)), 'Critical 0 · High 1 · Medium 2 · Low 0 · Unknown 0 (3 total, 2 fixable)');
  assert.equal(scanDetail(scanFacts(scanFailed)), 'Vulnerability scan failed: scanner adapter: GET /api/v1/scan/a2573415/report: 500 Internal Server Error: database is locked');
  assert.equal(scanDetail(scanFacts({ ...scanFailed, error: undefined })), 'Vulnerability scan failed');
  assert.equal(scanDetail(scanFacts(scanStopped)), 'SBOM generation stopped');
  assert.equal(scanDetail(scanFacts(scanCompletedSbom)), 'SBOM generated: sha256:aaaa3f1b9c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7');
  assert.equal(scanDetail(scanFacts({ ...scanCompleted, overview: { m: { scan_status: 'Success', severity: 'Low', summary: null } } })), 'Vulnerability scan completed (severity Low)');
});
