import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDistribution } from './distribution.ts';
import { distributionEnvelope } from '../../../test/fixtures/relay/samples.ts';

const ctx = { project: { id: 3, name: 'mirror', public: true }, relayName: 'cncf', now: 1_700_000_000_000 };

test('relay/distribution: the manifest push becomes PUSH_ARTIFACT, the layer push is ignored', () => {
  const r = parseDistribution({ body: distributionEnvelope, headers: {} }, ctx);
  assert.equal(r.source, 'distribution');
  assert.equal(r.ignored, 1);
  assert.equal(r.events.length, 1);
  const e = r.events[0]?.event;
  assert.ok(e && e.type === 'PUSH_ARTIFACT');
  assert.equal(r.events[0]?.sourceKey, 'distribution:a1b2c3d4-0000-4000-8000-00000000000b');
  assert.equal(e.operator, 'alice');
  assert.equal(e.repository.name, 'library/test');
  assert.deepEqual(e.artifact, { digest: 'sha256:2222222222222222222222222222222222222222222222222222222222222222', mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 708, tag: 'latest', tags: ['latest'], artifactType: null });
  assert.equal(e.occurAt, Date.parse('2016-03-09T14:44:26.40-08:00'));
  assert.equal(e.request?.host, 'reg:5000');
  assert.deepEqual(e.relay, { name: 'cncf', source: 'distribution', registryUrl: 'https://reg:5000', sourceEventId: 'a1b2c3d4-0000-4000-8000-00000000000b' });
});

test('relay/distribution: pulls, manifest deletes, tag deletes and repository deletes', () => {
  const ev = (action: string, target: Record<string, unknown>) => ({ id: `${action}-${Object.keys(target).join()}`, action, target: { repository: 'a/b', ...target } });
  const r = parseDistribution(
    {
      body: {
        events: [
          ev('pull', { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: 'sha256:aa', tag: 'v1' }),
          ev('delete', { digest: 'sha256:bb' }),
          ev('delete', { tag: 'v2' }),
          ev('delete', {}),
          ev('mount', { mediaType: 'application/octet-stream', digest: 'sha256:cc' }),
        ],
      },
      headers: {},
    },
    ctx,
  );
  assert.deepEqual(
    r.events.map((e) => e.event.type),
    ['PULL_ARTIFACT', 'DELETE_ARTIFACT', 'DELETE_TAG', 'DELETE_REPOSITORY'],
  );
  assert.equal(r.ignored, 1);
});

test('relay/distribution: an event without action, target or repository is a BAD_REQUEST', () => {
  assert.throws(() => parseDistribution({ body: { events: [{ action: 'push' }] }, headers: {} }, ctx), /events\[0\] needs "action" and "target"/);
  assert.throws(() => parseDistribution({ body: { events: [{ action: 'push', target: { digest: 'sha256:aa' } }] }, headers: {} }, ctx), /target.repository is required/);
  assert.throws(() => parseDistribution({ body: { events: [3] }, headers: {} }, ctx), /events\[0\] is not an object/);
});
