import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDefault, defaultPayload } from './default.ts';
import {
  ctxFor,
  golden,
  goldenCases,
  headersText,
  pushByTag,
  pullByDigest,
  deleteArtifact,
  quotaExceed,
  replication,
  retention,
  scanCompleted,
  scanCompletedSbom,
  scanCompletedIndexChild,
  scanFailed,
  scanStoppedVuln,
} from '../../../test/fixtures/payloads/sample-events.ts';
import type { WharfEvent } from '../../events/index.ts';

const ctx = ctxFor('http', 'Default');

test('Default: every golden matches byte for byte (body and headers)', () => {
  const cases = goldenCases['default'] ?? [];
  assert.ok(cases.length >= 18);
  for (const c of cases) {
    const out = formatDefault(c.event, c.ctx);
    const g = golden(c);
    assert.equal(out.body, g.body, c.stem);
    assert.equal(headersText(out.headers), g.headers, c.stem);
  }
});

// The expected bodies below are Harbor's documented examples (harbor-webhooks.md §2.1–§2.3, §2.5–§2.7)
// compacted by hand, independent of the code under test.
test('Default: push by tag is Harbor §2.1 exactly', () => {
  assert.equal(
    formatDefault(pushByTag, ctx).body,
    '{"type":"PUSH_ARTIFACT","occur_at":1680501893,"operator":"admin","event_data":{"resources":[{"digest":"sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4","tag":"3.18","resource_url":"harbor.example.com/library/alpine:3.18"}],"repository":{"date_created":1680501893,"name":"alpine","namespace":"library","repo_full_name":"library/alpine","repo_type":"private"}}}',
  );
});

test('Default: pull by digest is Harbor §2.2 exactly (tag = digest, resource_url with @)', () => {
  assert.equal(
    formatDefault(pullByDigest, { ...ctx, externalUrl: 'http://localhost' }).body,
    '{"type":"PULL_ARTIFACT","occur_at":1680502372,"operator":"robot$harbor+wHSYCuGD-Trivy-8e2e7505-d1e6-11ed-9e71-0242ac130009","event_data":{"resources":[{"digest":"sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4","tag":"sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4","resource_url":"localhost/harbor/alpine@sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4"}],"repository":{"date_created":1680501893,"name":"alpine","namespace":"harbor","repo_full_name":"harbor/alpine","repo_type":"private"}}}',
  );
});

test('Default: delete names the first tag when the delete was by digest (Harbor §2.3)', () => {
  assert.equal(
    formatDefault(deleteArtifact, ctx).body,
    '{"type":"DELETE_ARTIFACT","occur_at":1680502598,"operator":"admin","event_data":{"resources":[{"digest":"sha256:2bb501e6173d9d006e56de5bce2720eb06396803300fe1687b58a7ff32bf4c14","tag":"3.8","resource_url":"harbor.example.com/harbor/alpine:3.8"}],"repository":{"date_created":1680501893,"name":"alpine","namespace":"harbor","repo_full_name":"harbor/alpine","repo_type":"private"}}}',
  );
});

test('Default: quota exceed has no resource_url or date_created and carries Details (Harbor §2.5)', () => {
  assert.equal(
    formatDefault(quotaExceed, ctx).body,
    '{"type":"QUOTA_EXCEED","occur_at":1680505484,"operator":"admin","event_data":{"resources":[{"digest":"sha256:402d21757a03a114d273bbe372fa4b9eca567e8b6c332fa7ebf982b902207242","tag":"v1"}],"repository":{"name":"alpine","namespace":"harbor","repo_full_name":"harbor/alpine","repo_type":"private"},"custom_attributes":{"Details":"adding 2.1 MiB of storage resource, which when updated to current usage of 8.3 MiB will exceed the configured upper limit of 10.0 MiB."}}}',
  );
});

test('Default: replication keys come out in Harbor struct order with omitempty applied (Harbor §2.6)', () => {
  assert.equal(
    formatDefault(replication, ctx).body,
    '{"type":"REPLICATION","occur_at":1680501904,"operator":"admin","event_data":{"replication":{"harbor_hostname":"harbor.example.com","job_status":"Success","artifact_type":"image","authentication_type":"basic","override_mode":true,"trigger_type":"MANUAL","policy_creator":"admin","execution_timestamp":1680501881,"src_resource":{"registry_name":"hub","registry_type":"docker-hub","endpoint":"https://hub.docker.com","namespace":"library"},"dest_resource":{"registry_type":"harbor","endpoint":"https://harbor.example.com","namespace":"harbor"},"successful_artifact":[{"type":"image","status":"Success","name_tag":"alpine [1 item(s) in total]","references":["3.18"]}],"execution_id":12,"task_id":34}}}',
  );
  // override_mode false is left out, as Go's omitempty does.
  const r: WharfEvent = { ...replication, replication: { job_status: 'Running', override_mode: false } };
  assert.equal(JSON.stringify(defaultPayload(r, ctx).event_data), '{"replication":{"job_status":"Running"}}');
});

test('Default: retention keeps retained 0 and references null (Harbor §2.7)', () => {
  const body = formatDefault(retention, ctx).body;
  assert.match(body, /"retention":\{"total":1,"retained":0,"harbor_hostname":"harbor.example.com",/);
  assert.match(body, /"deleted_artifact":\[\{"type":"image","status":"SUCCESS","name_tag":"alpine:3.8","references":null\}\]/);
  assert.match(body, /"extras":"\{\\"untagged\\":true\}"/);
});

test('Default: <, > and & are escaped as Go does, and U+2028/U+2029 too', () => {
  const e: WharfEvent = { ...pushByTag, operator: 'ldap:<ops>&co\u2028x' };
  const body = formatDefault(e, ctx).body;
  assert.ok(body.includes('"operator":"ldap:\\u003cops\\u003e\\u0026co\\u2028x"'), body);
  assert.equal(JSON.parse(body).operator, 'ldap:<ops>&co\u2028x');
});

test('Default: a lone surrogate becomes U+FFFD, as Go writes invalid UTF-8', () => {
  const e: WharfEvent = { ...pushByTag, operator: 'a\uD800b' };
  assert.equal(JSON.parse(formatDefault(e, ctx).body).operator, 'a\uFFFDb');
});

test('Default: occur_at and date_created are integer seconds (floored), never floats', () => {
  const e: WharfEvent = { ...pushByTag, occurAt: 1700000000999, repository: { id: 1, name: 'library/alpine', creationTime: 1699999999500 } };
  const body = formatDefault(e, ctx).body;
  assert.match(body, /"occur_at":1700000000,/);
  assert.match(body, /"date_created":1699999999,/);
});

test('Default: date_created is omitted when the repository creation time is unknown', () => {
  const e: WharfEvent = { ...pushByTag, repository: { id: 1, name: 'library/alpine', creationTime: null } };
  assert.match(formatDefault(e, ctx).body, /"repository":\{"name":"alpine",/);
});

test('Default: resource_url keeps the port and path prefix of the external URL, never the scheme', () => {
  const withPort = formatDefault(pushByTag, { ...ctx, externalUrl: 'https://Registry.Example.com:8443/' }).body;
  assert.match(withPort, /"resource_url":"registry.example.com:8443\/library\/alpine:3.18"/);
  const defaultPort = formatDefault(pushByTag, { ...ctx, externalUrl: 'https://registry.example.com:443' }).body;
  assert.match(defaultPort, /"resource_url":"registry.example.com\/library\/alpine:3.18"/);
});

test('Default: repository.name drops only the first segment of a nested repository', () => {
  const e: WharfEvent = { ...pushByTag, repository: { id: 1, name: 'library/team/app/web', creationTime: null } };
  const repo = defaultPayload(e, ctx).event_data?.repository;
  assert.deepEqual(repo, { date_created: undefined, name: 'team/app/web', namespace: 'library', repo_full_name: 'library/team/app/web', repo_type: 'private' });
});

test('Default: Content-Type is exactly application/json', () => {
  assert.deepEqual(formatDefault(pushByTag, ctx).headers, { 'Content-Type': 'application/json' });
});

// Harbor §2.4, compacted by hand from the reference's examples (independent of the code under test).
test('Default: SCANNING_COMPLETED (vulnerability) is Harbor §2.4 exactly', () => {
  assert.equal(
    formatDefault(scanCompleted, ctx).body,
    '{"type":"SCANNING_COMPLETED","occur_at":1680502375,"operator":"admin","event_data":{"resources":[{"digest":"sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4","tag":"3.18","resource_url":"harbor.example.com/harbor/alpine:3.18","scan_overview":{"application/vnd.security.vulnerability.report; version=1.1":{"report_id":"af0546c1-67dc-4e9d-927e-372900ead0df","scan_status":"Success","severity":"High","duration":8,"summary":{"total":3,"fixable":2,"summary":{"High":1,"Medium":2}},"start_time":"2023-04-03T06:12:47Z","end_time":"2023-04-03T06:12:55Z","scanner":{"name":"Trivy","vendor":"Aqua Security","version":"v0.37.2"},"complete_percent":100}}}],"repository":{"name":"alpine","namespace":"harbor","repo_full_name":"harbor/alpine","repo_type":"private"},"scan":{"scan_type":"vulnerability"}}}',
  );
});

test('Default: SCANNING_FAILED and SCANNING_STOPPED are Harbor §2.4 exactly (no tag, @digest, summary null, scan_type)', () => {
  const local = { ...ctx, externalUrl: 'http://localhost' };
  const failed =
    '{"type":"SCANNING_FAILED","occur_at":1680505885,"operator":"auto","event_data":{"resources":[{"digest":"sha256:dabea2944dcc2b86482b4f0b0fb62da80e0673e900c46c0e03b45919881a5d84","resource_url":"localhost/harbor/alpine@sha256:dabea2944dcc2b86482b4f0b0fb62da80e0673e900c46c0e03b45919881a5d84","scan_overview":{"application/vnd.security.vulnerability.report; version=1.1":{"report_id":"a2573415-c727-4723-bc92-376c1d978637","scan_status":"Error","severity":"","duration":10,"summary":null,"start_time":"2023-04-03T07:11:15Z","end_time":"2023-04-03T07:11:25Z","complete_percent":0}}}],"repository":{"name":"alpine","namespace":"harbor","repo_full_name":"harbor/alpine","repo_type":"private"},"scan":{"scan_type":"vulnerability"}}}';
  assert.equal(formatDefault({ ...scanFailed, operator: 'auto' }, local).body, failed);
  // The failure reason is Wharf's (MSR, chat); Harbor's Default body has no place for it.
  assert.ok(scanFailed.error !== undefined && !formatDefault(scanFailed, local).body.includes('database is locked'));
  const stopped = failed.replace('"SCANNING_FAILED"', '"SCANNING_STOPPED"').replace('"scan_status":"Error"', '"scan_status":"Stopped"');
  assert.equal(formatDefault({ ...scanStoppedVuln, operator: 'auto' }, local).body, stopped);
});

test('Default: SCANNING_COMPLETED (sbom) carries only sbom_overview, its keys sorted as Go prints a map', () => {
  assert.equal(
    formatDefault(scanCompletedSbom, ctx).body,
    '{"type":"SCANNING_COMPLETED","occur_at":1718000000,"operator":"admin","event_data":{"resources":[{"digest":"sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4","tag":"3.18","resource_url":"harbor.example.com/library/alpine:3.18","sbom_overview":{"duration":3,"end_time":"2024-06-10T06:13:20.123456Z","sbom_digest":"sha256:aaaa3f1b9c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7","sbom_repository":"library/alpine","scan_status":"Success","scanner":{"name":"Trivy","vendor":"Aqua Security","version":"v0.50.1"},"start_time":"2024-06-10T06:13:17.000000Z"}}],"repository":{"name":"alpine","namespace":"library","repo_full_name":"library/alpine","repo_type":"private"},"scan":{"scan_type":"sbom"}}}',
  );
});

test('Default: a report given out of order comes out in NativeReportSummary order; index children add platform and parent_digest last', () => {
  const body = formatDefault(scanCompletedIndexChild, ctx).body;
  assert.ok(
    body.includes(
      '"scan_overview":{"application/vnd.security.vulnerability.report; version=1.1":{"report_id":"c8d9e0f1-2a3b-4c5d-8e6f-708192a3b4c5","scan_status":"Success","severity":"Critical","duration":1,"summary":{"total":11,"fixable":9,"summary":{"Critical":2,"High":0,"Low":3,"Medium":5,"Unknown":1}},"start_time":"2024-06-10T06:15:01Z","end_time":"2024-06-10T06:15:02.5Z","scanner":{"name":"Wharf","vendor":"Wharf","version":"0.1.0"},"complete_percent":100}},"platform":"linux/arm64/v8","parent_digest":"sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4"}]',
    ),
    body,
  );
  // Untagged: no tag member, resource_url by digest.
  assert.match(body, /"resources":\[\{"digest":"sha256:1b2c[0-9a-f]+","resource_url":"harbor\.example\.com\/library\/alpine@sha256:1b2c/);
  const plain: WharfEvent = { ...scanCompletedIndexChild, platform: undefined, parentDigest: undefined };
  assert.doesNotMatch(formatDefault(plain, ctx).body, /platform|parent_digest/);
});

test('Default: an empty overview is left out (omitempty), the scan type stays', () => {
  const e: WharfEvent = { ...scanCompleted, overview: {} };
  assert.match(formatDefault(e, ctx).body, /"resource_url":"harbor\.example\.com\/harbor\/alpine:3\.18"\}\],.*"scan":\{"scan_type":"vulnerability"\}\}\}$/);
});
