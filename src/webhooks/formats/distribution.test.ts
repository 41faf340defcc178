import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { distributionSupports, formatDistribution, uuidV5Url } from './distribution.ts';
import { isDomainError } from '../../domain/index.ts';
import type { ArtifactEvent, RepositoryEvent, TagEvent } from '../../events/index.ts';
import { ctxFor, golden, goldenCases, headersText, quotaExceed } from '../../../test/fixtures/payloads/sample-events.ts';

const captured = new URL('../../../../shared/reference/distribution-events/', import.meta.url);
function capture(name: string): { raw: string; json: { events: Record<string, unknown>[] } } {
  const raw = readFileSync(new URL(name, captured), 'utf8');
  return { raw, json: JSON.parse(raw) };
}

/** Every key path of a JSON value, in document order (`events.0.target.mediaType`, ...). */
function keyPaths(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => keyPaths(x, `${prefix}${i}.`));
  if (typeof v === 'object' && v !== null) {
    return Object.entries(v).flatMap(([k, x]) => [`${prefix}${k}`, ...keyPaths(x, `${prefix}${k}.`)]);
  }
  return [];
}

/** The captured registry's context: it listened on http://127.0.0.1:5000. */
const ctx = { ...ctxFor('http', 'Distribution'), externalUrl: 'http://127.0.0.1:5000' };

/** A Wharf event carrying exactly what a captured envelope says, to compare the output with it. */
function eventFrom(e: Record<string, unknown>, type: ArtifactEvent['type']): ArtifactEvent {
  const t = e['target'] as Record<string, unknown>; // the captured files are distribution's Event struct
  const r = e['request'] as Record<string, string>; // idem
  const repo = String(t['repository']);
  return {
    type,
    id: String(e['id']),
    occurAt: Date.parse(String(e['timestamp'])),
    operator: '',
    request: { id: r['id'] ?? '', addr: r['addr'] ?? '', host: r['host'] ?? '', method: r['method'] ?? '', useragent: r['useragent'] ?? '' },
    project: { id: 1, name: repo.split('/')[0] ?? '', public: true },
    repository: { id: 1, name: repo, creationTime: null },
    artifact: {
      digest: String(t['digest']),
      mediaType: String(t['mediaType']),
      size: Number(t['size']),
      tag: typeof t['tag'] === 'string' ? t['tag'] : null,
      tags: [],
      artifactType: null,
    },
  };
}

/** The parts of an envelope Wharf cannot reproduce: ns timestamps, references, the node's own address and id. */
function comparable(env: { events: Record<string, unknown>[] }): unknown {
  return {
    events: env.events.map((e) => {
      const target = { ...(e['target'] as Record<string, unknown>) }; // distribution's Event struct
      delete target['references'];
      return { ...e, timestamp: undefined, target, source: undefined };
    }),
  };
}

test('Distribution: every golden matches byte for byte (body and headers)', () => {
  const cases = goldenCases['distribution'] ?? [];
  assert.ok(cases.length >= 7);
  for (const c of cases) {
    const out = formatDistribution(c.event, c.ctx);
    const g = golden(c);
    assert.equal(out.body, g.body, c.stem);
    assert.equal(headersText(out.headers), g.headers, c.stem);
  }
});

for (const [file, type] of [
  ['push-manifest-with-tag.json', 'PUSH_ARTIFACT'],
  ['push-index-with-tag.json', 'PUSH_ARTIFACT'],
  ['push-manifest-by-digest-index-child.json', 'PUSH_ARTIFACT'],
  ['pull-manifest-GET.json', 'PULL_ARTIFACT'],
] as const) {
  test(`Distribution: same keys, order and values as the captured ${file} (but references, timestamp, source)`, () => {
    const c = capture(file);
    const first = c.json.events[0];
    assert.ok(first);
    const out = formatDistribution(eventFrom(first, type), ctx);
    const ours = JSON.parse(out.body);
    assert.deepEqual(comparable(ours), comparable(c.json));
    const theirs = keyPaths(c.json).filter((p) => !p.includes('.references'));
    assert.deepEqual(keyPaths(ours), theirs);
    // Same layout: three-space indent, no trailing newline, `"key": value`.
    assert.ok(out.body.startsWith('{\n   "events": [\n      {\n         "id": '));
    assert.ok(!out.body.endsWith('\n'));
  });
}

test('Distribution: delete by digest, tag delete and repository delete have the captured target shapes', () => {
  const base = { id: 'x', occurAt: 1_700_000_000_000, operator: '', project: { id: 1, name: 'lab', public: true } };
  const repository = { id: 1, name: 'lab/artifact', creationTime: null };
  const artifact = { digest: 'sha256:ebcd9bd5706e7af5b8d87969e6ed1356dda316d8b963660821b82ef74ef4fe01', mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 10, tag: 'sig', tags: [], artifactType: null };
  const del: ArtifactEvent = { ...base, type: 'DELETE_ARTIFACT', repository, artifact: { ...artifact, tag: null } };
  const tagDel: TagEvent = { ...base, type: 'DELETE_TAG', repository, artifact };
  const repoDel: RepositoryEvent = { ...base, type: 'DELETE_REPOSITORY', repository };
  const target = (e: ArtifactEvent | TagEvent | RepositoryEvent): unknown => JSON.parse(formatDistribution(e, ctx).body).events[0].target;
  assert.deepEqual(Object.keys(capture('delete-manifest-by-digest.json').json.events[0]?.['target'] ?? {}), ['digest', 'repository']);
  assert.deepEqual(target(del), { digest: artifact.digest, repository: 'lab/artifact' });
  assert.deepEqual(Object.keys(capture('delete-tag-after-manifest-delete.json').json.events[0]?.['target'] ?? {}), ['repository', 'tag']);
  assert.deepEqual(target(tagDel), { repository: 'lab/artifact', tag: 'sig' });
  assert.deepEqual(target(repoDel), { repository: 'lab/artifact' });
  const envelope = JSON.parse(formatDistribution(del, ctx).body).events[0];
  assert.deepEqual(Object.keys(envelope), Object.keys(capture('delete-manifest-by-digest.json').json.events[0] ?? {}));
  assert.deepEqual(envelope.actor, {});
});

test('Distribution: Content-Type is v1 by default, v2 or application/json on request, v1 for anything else', () => {
  const e = goldenCases['distribution']?.[0]?.event;
  assert.ok(e);
  assert.equal(formatDistribution(e, ctx).headers['Content-Type'], 'application/vnd.docker.distribution.events.v1+json');
  const v2 = { ...ctx, target: { ...ctx.target, options: { distribution_content_type: 'application/vnd.docker.distribution.events.v2+json' } } };
  assert.equal(formatDistribution(e, v2).headers['Content-Type'], 'application/vnd.docker.distribution.events.v2+json');
  const json = { ...ctx, target: { ...ctx.target, options: { distribution_content_type: 'application/json' } } };
  assert.equal(formatDistribution(e, json).headers['Content-Type'], 'application/json');
  const bogus = { ...ctx, target: { ...ctx.target, options: { distribution_content_type: 'text/html' } } };
  assert.equal(formatDistribution(e, bogus).headers['Content-Type'], 'application/vnd.docker.distribution.events.v1+json');
});

test('Distribution: events without an equivalent are not supported and the formatter refuses them', () => {
  for (const t of ['PUSH_ARTIFACT', 'PULL_ARTIFACT', 'DELETE_ARTIFACT', 'CREATE_TAG', 'DELETE_TAG', 'DELETE_REPOSITORY'] as const) assert.ok(distributionSupports(t), t);
  for (const t of ['QUOTA_EXCEED', 'SCANNING_COMPLETED', 'REPLICATION', 'TAG_RETENTION', 'CREATE_PROJECT', 'CREATE_REPOSITORY', 'WEBHOOK_TARGET_DISABLED'] as const) {
    assert.ok(!distributionSupports(t), t);
  }
  assert.throws(() => formatDistribution(quotaExceed, ctx), (err: unknown) => isDomainError(err, 'UNSUPPORTED'));
});

test('Distribution: instanceID is a name-based UUID of the external URL (stable per installation)', () => {
  // Python: uuid.uuid5(uuid.NAMESPACE_URL, 'https://harbor.example.com')
  assert.equal(uuidV5Url('https://harbor.example.com'), 'ef121c4f-427d-5466-b95a-779195ab1e3c');
});
