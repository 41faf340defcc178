import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMsr, msrSamplePayload, msrScanCounts, msrSupports, msrTypes } from './msr.ts';
import { isDomainError } from '../../domain/index.ts';
import {
  ctxFor,
  golden,
  goldenCases,
  headersText,
  pushByTag,
  pushByDigestChild,
  deleteArtifact,
  deleteTag,
  scanCompleted,
  scanCompletedIndexChild,
  scanCompletedSbom,
  scanFailed,
  scanStopped,
  scanStoppedVuln,
  createRepository,
  quotaExceed,
  replication,
} from '../../../test/fixtures/payloads/sample-events.ts';
import type { WharfEvent } from '../../events/index.ts';

const ctx = ctxFor('http', 'MSR');
const render = (e: WharfEvent): Record<string, unknown> => JSON.parse(formatMsr(e, ctx).body);

test('MSR: every golden matches byte for byte (body and headers)', () => {
  const cases = goldenCases['msr'] ?? [];
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    const out = formatMsr(c.event, c.ctx);
    const g = golden(c);
    assert.equal(out.body, g.body, c.stem);
    assert.equal(headersText(out.headers), g.headers, c.stem);
  }
});

// Field lists from MSR's "Content structure" documentation (seeds/002): the wrapper and each event's contents.
test('MSR: the wrapper is {type, createdAt, contents, location} in that order', () => {
  assert.deepEqual(Object.keys(render(pushByTag)), ['type', 'createdAt', 'contents', 'location']);
});

test('MSR: TAG_PUSH contents carry the documented fields, in the documented order', () => {
  const p = render(pushByTag);
  assert.equal(p['type'], 'TAG_PUSH');
  assert.deepEqual(Object.keys(p['contents'] as object), ['namespace', 'repository', 'tag', 'digest', 'imageName', 'os', 'architecture', 'author', 'pushedAt']); // contents is an object
  assert.deepEqual(p['contents'], {
    namespace: 'library',
    repository: 'alpine',
    tag: '3.18',
    digest: pushByTag.artifact.digest,
    imageName: 'harbor.example.com/library/alpine:3.18',
    os: '',
    architecture: '',
    author: 'admin',
    pushedAt: '2023-04-03T06:04:53Z',
  });
  assert.equal(p['location'], '/repositories/library/alpine/tags/3.18');
});

test('MSR: a push by digest is MANIFEST_PUSH with a digest image name', () => {
  const p = render(pushByDigestChild);
  assert.equal(p['type'], 'MANIFEST_PUSH');
  const c = p['contents'] as Record<string, unknown>; // contents is an object
  assert.deepEqual(Object.keys(c), ['namespace', 'repository', 'digest', 'imageName', 'os', 'architecture', 'author', 'pushedAt']);
  assert.equal(c['imageName'], `harbor.example.com/library/multi/app@${pushByDigestChild.artifact.digest}`);
  assert.equal(c['pushedAt'], '2023-04-03T06:04:54.507Z');
});

test('MSR: artifact delete is MANIFEST_DELETE, tag delete is TAG_DELETE, both with deletedAt', () => {
  const m = render(deleteArtifact);
  assert.equal(m['type'], 'MANIFEST_DELETE');
  assert.ok('deletedAt' in (m['contents'] as object)); // contents is an object
  const t = render(deleteTag);
  assert.equal(t['type'], 'TAG_DELETE');
  assert.deepEqual(Object.keys(t['contents'] as object), ['namespace', 'repository', 'tag', 'digest', 'imageName', 'os', 'architecture', 'author', 'deletedAt']); // idem
});

test('MSR: SCAN_COMPLETED maps Harbor severities onto critical/major/minor', () => {
  const p = render(scanCompleted);
  assert.equal(p['type'], 'SCAN_COMPLETED');
  const c = p['contents'] as Record<string, unknown>; // contents is an object
  assert.deepEqual(Object.keys(c), ['namespace', 'repository', 'tag', 'imageName', 'scanSummary']);
  assert.deepEqual(c['scanSummary'], {
    namespace: 'harbor',
    repository: 'alpine',
    tag: '3.18',
    critical: 1,
    major: 2,
    minor: 0,
    last_scan_status: 6,
    check_completed_at: '2023-04-03T06:12:55Z',
  });
});

test('MSR: REPO_CREATED carries event, author and data', () => {
  const p = render(createRepository);
  assert.equal(p['type'], 'REPO_CREATED');
  assert.deepEqual(Object.keys(p['contents'] as object), ['namespace', 'repository', 'event', 'author', 'data']); // contents is an object
});

test('MSR: events MSR has no name for are not supported and the formatter refuses them', () => {
  for (const e of [quotaExceed, replication]) {
    assert.ok(!msrSupports(e.type));
    assert.throws(() => formatMsr(e, ctx), (err: unknown) => isDomainError(err, 'UNSUPPORTED'));
  }
  assert.ok(msrSupports('SCANNING_STOPPED'));
});

// The shapes of harbor-scanning.md §5.1 (MSR seed 002), written out by hand.
test('MSR: SCAN_COMPLETED is MSR’s envelope and scanSummary exactly', () => {
  assert.equal(
    formatMsr(scanCompleted, ctx).body,
    '{"type":"SCAN_COMPLETED","createdAt":"2023-04-03T06:12:55Z","contents":{"namespace":"harbor","repository":"alpine","tag":"3.18","imageName":"harbor.example.com/harbor/alpine:3.18","scanSummary":{"namespace":"harbor","repository":"alpine","tag":"3.18","critical":1,"major":2,"minor":0,"last_scan_status":6,"check_completed_at":"2023-04-03T06:12:55Z"}},"location":"/repositories/harbor/alpine/tags/3.18"}',
  );
});

test('MSR: buckets come from CVSS counts when the event has them, else Critical+High, Medium, Low', () => {
  assert.deepEqual(msrScanCounts(scanCompletedIndexChild), { critical: 2, major: 5, minor: 3 });
  // Words only: Critical 2 + High 0 -> critical, Medium 5 -> major, Low 3 -> minor; Unknown 1 in none.
  assert.deepEqual(msrScanCounts({ ...scanCompletedIndexChild, cvssCounts: undefined }), { critical: 2, major: 5, minor: 3 });
  assert.deepEqual(msrScanCounts({ ...scanCompletedIndexChild, cvssCounts: { critical: 1, major: 6, minor: 3 } }), { critical: 1, major: 6, minor: 3 });
  assert.deepEqual(msrScanCounts(scanFailed), { critical: 0, major: 0, minor: 0 });
  const c = render(scanCompletedIndexChild)['contents'] as Record<string, unknown>; // contents is an object
  assert.equal(c['tag'], '');
  assert.equal(c['imageName'], `harbor.example.com/library/alpine@${scanCompletedIndexChild.artifact.digest}`);
});

test('MSR: SCAN_FAILED names the image by digest and carries the error; a stop is a SCAN_FAILED too', () => {
  assert.equal(
    formatMsr(scanFailed, ctx).body,
    '{"type":"SCAN_FAILED","createdAt":"2023-04-03T07:11:25Z","contents":{"namespace":"harbor","repository":"alpine","tag":"","imageName":"harbor.example.com/harbor/alpine@sha256:dabea2944dcc2b86482b4f0b0fb62da80e0673e900c46c0e03b45919881a5d84","error":"scanner adapter: GET /api/v1/scan/a2573415/report: 500 Internal Server Error: database is locked"},"location":"/repositories/harbor/alpine/manifests/sha256:dabea2944dcc2b86482b4f0b0fb62da80e0673e900c46c0e03b45919881a5d84"}',
  );
  const stopped = render(scanStoppedVuln);
  assert.equal(stopped['type'], 'SCAN_FAILED');
  assert.equal((stopped['contents'] as Record<string, unknown>)['error'], 'stopped by admin'); // contents is an object
  // Tagged: the tag is named, the image still by digest; without a reason, a fixed text.
  const sbomStopped = render(scanStopped)['contents'] as Record<string, unknown>; // contents is an object
  assert.deepEqual(sbomStopped, {
    namespace: 'library',
    repository: 'alpine',
    tag: '3.18',
    imageName: 'harbor.example.com/library/alpine@sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4',
    error: 'sbom scan stopped',
  });
  assert.equal((render({ ...scanFailed, error: undefined })['contents'] as Record<string, unknown>)['error'], 'vulnerability scan failed'); // idem
});

test('MSR: an SBOM SCAN_COMPLETED has no scanSummary (no counts) and says scanType sbom', () => {
  assert.deepEqual(render(scanCompletedSbom)['contents'], {
    namespace: 'library',
    repository: 'alpine',
    tag: '3.18',
    imageName: 'harbor.example.com/library/alpine:3.18',
    scanType: 'sbom',
  });
});

test('MSR: a MANIFEST_PUSH subscription renders a push by tag in the manifest shape; TAG_PUSH keeps the tag', () => {
  const asManifest = JSON.parse(formatMsr(pushByTag, ctxFor('http', 'MSR', { msr_type: 'MANIFEST_PUSH' })).body) as Record<string, unknown>;
  assert.equal(asManifest['type'], 'MANIFEST_PUSH');
  const c = asManifest['contents'] as Record<string, unknown>; // contents is an object
  assert.equal('tag' in c, false);
  assert.equal(c['imageName'], `harbor.example.com/library/alpine@${pushByTag.artifact.digest}`);
  assert.equal(asManifest['location'], `/repositories/library/alpine/manifests/${pushByTag.artifact.digest}`);
  const asTag = JSON.parse(formatMsr(pushByTag, ctxFor('http', 'MSR', { msr_type: 'TAG_PUSH' })).body) as Record<string, unknown>;
  assert.deepEqual(asTag, render(pushByTag));
});

test("MSR: msr_sample sends MSR's fixed sample of the subscribed type, whatever the event", () => {
  for (const type of msrTypes) {
    const body = JSON.parse(formatMsr(pushByTag, ctxFor('http', 'MSR', { msr_type: type, msr_sample: true })).body) as Record<string, unknown>;
    assert.equal(body['type'], type);
    assert.deepEqual(Object.keys(body), ['type', 'createdAt', 'contents', 'location']);
    assert.equal(body['createdAt'], '2023-04-03T06:04:53Z', 'createdAt is the send time');
  }
  const tagPush = msrSamplePayload('TAG_PUSH', 'now');
  assert.deepEqual(tagPush.contents, {
    namespace: 'foo',
    repository: 'bar',
    tag: 'latest',
    digest: 'sha256:b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c',
    imageName: 'foo/bar:latest',
    os: 'linux',
    architecture: 'amd64',
    author: '',
    pushedAt: '2015-01-02T15:04:05Z',
  });
  assert.deepEqual(Object.keys(msrSamplePayload('SCANNER_UPDATE_COMPLETED', 'now').contents), ['scanner_version', 'scanner_updated_at', 'db_version', 'db_updated_at', 'success', 'replicas']);
  // Without msr_type the sample option means nothing: the event renders as usual.
  assert.deepEqual(JSON.parse(formatMsr(pushByTag, ctxFor('http', 'MSR', { msr_sample: true })).body), render(pushByTag));
});
