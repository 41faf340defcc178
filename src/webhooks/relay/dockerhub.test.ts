import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerHub } from './dockerhub.ts';
import { dockerHubPush } from '../../../test/fixtures/relay/samples.ts';

const ctx = { project: { id: 3, name: 'hub', public: false }, relayName: 'dockerhub', now: 1_700_000_000_000 };

test('relay/dockerhub: a push becomes PUSH_ARTIFACT with the tag, the pusher and no digest', () => {
  const r = parseDockerHub({ body: dockerHubPush, headers: {} }, ctx);
  assert.equal(r.source, 'dockerhub');
  const e = r.events[0]?.event;
  assert.ok(e && e.type === 'PUSH_ARTIFACT');
  assert.equal(e.operator, 'trustedbuilder');
  assert.equal(e.occurAt, 1417566161000);
  assert.deepEqual(e.repository, { id: 0, name: 'ns/repo', creationTime: 1417494799000 });
  assert.equal(e.artifact.tag, 'latest');
  assert.equal(e.artifact.digest, '');
  assert.equal(e.relay?.registryUrl, 'https://hub.docker.com');
  assert.match(r.events[0]?.sourceKey ?? '', /^dockerhub:sha256:/);
});

test('relay/dockerhub: float times of old payloads are seconds too; no repository name is a BAD_REQUEST', () => {
  const r = parseDockerHub({ body: { ...dockerHubPush, push_data: { ...dockerHubPush.push_data, pushed_at: 1.417566161e9 } }, headers: {} }, ctx);
  assert.equal(r.events[0]?.event.occurAt, 1417566161000);
  assert.throws(() => parseDockerHub({ body: { push_data: {}, repository: {} }, headers: {} }, ctx), /repo_name is required/);
});
