import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../../domain/index.ts';
import type { WharfEvent } from '../../events/index.ts';
import { parseCloudEvent, parseHarborDefault } from './harbor.ts';
import { harborCloudEvent, harborDefault } from '../../../test/fixtures/relay/samples.ts';

const ctx = { project: { id: 7, name: 'relayed', public: false }, relayName: 'harbor-prod', now: 1_700_000_000_000 };
const noHeaders = {};

test('relay/harbor: a Default PUSH_ARTIFACT becomes PUSH_ARTIFACT in the relay project, Harbor’s repository and tag kept', () => {
  const r = parseHarborDefault({ body: harborDefault.push, headers: noHeaders }, ctx);
  assert.equal(r.source, 'harbor');
  assert.equal(r.events.length, 1);
  const e = r.events[0]?.event;
  assert.ok(e && e.type === 'PUSH_ARTIFACT');
  assert.deepEqual(e.project, ctx.project);
  assert.equal(e.operator, 'admin');
  assert.equal(e.occurAt, 1680501893000);
  assert.deepEqual(e.repository, { id: 0, name: 'library/alpine', creationTime: 1680501893000 });
  assert.equal(e.artifact.digest, 'sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4');
  assert.equal(e.artifact.tag, '3.18');
  assert.deepEqual(e.relay, { name: 'harbor-prod', source: 'harbor', registryUrl: 'harbor.example.com' });
  assert.match(r.events[0]?.sourceKey ?? '', /^harbor:sha256:[0-9a-f]{64}$/);
});

test('relay/harbor: the same Default bytes give the same key, another event another one', () => {
  const a = parseHarborDefault({ body: structuredClone(harborDefault.push), headers: noHeaders }, ctx).events[0]?.sourceKey;
  const b = parseHarborDefault({ body: structuredClone(harborDefault.push), headers: noHeaders }, ctx).events[0]?.sourceKey;
  const c = parseHarborDefault({ body: { ...harborDefault.push, occur_at: 1680501894 }, headers: noHeaders }, ctx).events[0]?.sourceKey;
  assert.equal(a, b);
  assert.notEqual(a, c);
});

test('relay/harbor: a pull by digest has no tag; a delete keeps its tag', () => {
  const pull = parseHarborDefault({ body: harborDefault.pullByDigest, headers: noHeaders }, ctx).events[0]?.event;
  assert.ok(pull && pull.type === 'PULL_ARTIFACT');
  assert.equal(pull.artifact.tag, null);
  assert.equal(pull.artifact.digest, 'sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4');
  assert.equal(pull.operator, 'robot$harbor+wHSYCuGD-Trivy-8e2e7505-d1e6-11ed-9e71-0242ac130009');
  const del = parseHarborDefault({ body: harborDefault.delete, headers: noHeaders }, ctx).events[0]?.event;
  assert.ok(del && del.type === 'DELETE_ARTIFACT');
  assert.equal(del.artifact.tag, '3.8');
});

test('relay/harbor: scans, quotas, replication and retention keep what Harbor sent', () => {
  const one = (body: unknown): WharfEvent['type'] | undefined => parseHarborDefault({ body, headers: noHeaders }, ctx).events[0]?.event.type;
  const scan = parseHarborDefault({ body: harborDefault.scanCompleted, headers: noHeaders }, ctx).events[0]?.event;
  assert.ok(scan && scan.type === 'SCANNING_COMPLETED');
  assert.equal(scan.scanType, 'vulnerability');
  assert.ok('application/vnd.security.vulnerability.report; version=1.1' in scan.overview);
  const failed = parseHarborDefault({ body: harborDefault.scanFailed, headers: noHeaders }, ctx).events[0]?.event;
  assert.ok(failed && failed.type === 'SCANNING_FAILED');
  assert.equal(failed.artifact.tag, null);
  const quota = parseHarborDefault({ body: harborDefault.quotaExceed, headers: noHeaders }, ctx).events[0]?.event;
  assert.ok(quota && quota.type === 'QUOTA_EXCEED');
  assert.match(quota.details, /exceed the configured upper limit/);
  assert.equal(quota.artifact?.tag, 'v1');
  assert.equal(one(harborDefault.quotaWarning), 'QUOTA_WARNING');
  const rep = parseHarborDefault({ body: harborDefault.replication, headers: noHeaders }, ctx).events[0]?.event;
  assert.ok(rep && rep.type === 'REPLICATION');
  assert.equal(rep.replication['job_status'], 'Success');
  assert.equal(rep.relay?.registryUrl, 'harbor.example.com');
  const ret = parseHarborDefault({ body: harborDefault.retention, headers: noHeaders }, ctx).events[0]?.event;
  assert.ok(ret && ret.type === 'TAG_RETENTION');
  assert.equal(ret.retention['total'], 1);
});

test('relay/harbor: an unknown type is ignored, a payload missing what its type needs is a BAD_REQUEST', () => {
  const r = parseHarborDefault({ body: { type: 'pushImage', occur_at: 1, event_data: {} }, headers: noHeaders }, ctx);
  assert.deepEqual([r.events.length, r.ignored], [0, 1]);
  const bad = (body: unknown, re: RegExp) =>
    assert.throws(
      () => parseHarborDefault({ body, headers: noHeaders }, ctx),
      (e: unknown) => isDomainError(e, 'BAD_REQUEST') && re.test(e.message),
    );
  bad({ type: 'PUSH_ARTIFACT', occur_at: 1, event_data: { resources: [{ digest: 'sha256:aa' }] } }, /repo_full_name/);
  bad({ type: 'PUSH_ARTIFACT', occur_at: 1, event_data: { repository: { repo_full_name: 'a/b' } } }, /resources/);
  bad({ type: 'PUSH_ARTIFACT', occur_at: '1' }, /occur_at/);
  bad({ type: 'REPLICATION', occur_at: 1, event_data: {} }, /event_data.replication/);
});

test('relay/harbor: a structured CloudEvent maps harbor.artifact.pushed and keys on source and id', () => {
  const r = parseCloudEvent({ body: harborCloudEvent, headers: { 'content-type': 'application/cloudevents+json' } }, ctx);
  assert.equal(r.source, 'harbor-cloudevents');
  const e = r.events[0]?.event;
  assert.ok(e && e.type === 'PUSH_ARTIFACT');
  assert.equal(e.operator, 'harbor-jobservice');
  assert.equal(e.occurAt, Date.parse('2023-04-03T06:04:46Z'));
  assert.equal(e.repository.name, 'harbor/alpine');
  assert.equal(e.relay?.sourceEventId, '66e18103-09c1-41f6-982f-37df223f3eeb');
  assert.equal(r.events[0]?.sourceKey, 'harbor-cloudevents:/projects/2/webhook/policies/15 66e18103-09c1-41f6-982f-37df223f3eeb');
});

test('relay/harbor: a binary-mode CloudEvent reads ce-* headers and the data body', () => {
  const headers = { 'ce-specversion': '1.0', 'ce-id': 'x-1', 'ce-source': 'https://harbor.example.com', 'ce-type': 'harbor.artifact.deleted', 'ce-time': '2024-01-01T00:00:00Z', 'ce-operator': 'bob', 'content-type': 'application/json' };
  const r = parseCloudEvent({ body: harborDefault.delete.event_data, headers }, ctx);
  const e = r.events[0]?.event;
  assert.ok(e && e.type === 'DELETE_ARTIFACT');
  assert.equal(e.operator, 'bob');
  assert.equal(e.relay?.registryUrl, 'harbor.example.com');
  assert.throws(() => parseCloudEvent({ body: {}, headers: { 'ce-specversion': '1.0' } }, ctx), /id, source and type are required/);
  assert.throws(() => parseCloudEvent({ body: { ...harborCloudEvent, specversion: '0.3' }, headers: {} }, ctx), /specversion must be 1.0/);
  assert.equal(parseCloudEvent({ body: { ...harborCloudEvent, type: 'com.example.other' }, headers: {} }, ctx).ignored, 1);
});
