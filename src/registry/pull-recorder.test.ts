import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { openTestDatabase } from '../../test/helpers/db.ts';
import { Outbox } from '../events/index.ts';
import { anonymous } from '../auth/actor.ts';
import { PullRecorder } from './pull-recorder.ts';

async function fixture() {
  const db = await openTestDatabase();
  const k = db.kysely;
  const project = await k
    .insertInto('projects')
    .values({ name: 'library', public: 1, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: 1, update_time: 1 })
    .returningAll()
    .executeTakeFirstOrThrow();
  const repository = await k.insertInto('repositories').values({ project_id: project.id, name: 'library/alpine', pull_count: 0, creation_time: 1, update_time: 1 }).returningAll().executeTakeFirstOrThrow();
  const artifact = await k
    .insertInto('artifacts')
    .values({
      repository_id: repository.id,
      digest: `sha256:${'a'.repeat(64)}`,
      media_type: 'application/vnd.oci.image.manifest.v1+json',
      artifact_type: null,
      config_media_type: null,
      size: 10,
      manifest_size: 10,
      subject_digest: null,
      annotations: null,
      push_time: 1,
      pull_time: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await k.insertInto('tags').values({ repository_id: repository.id, artifact_id: artifact.id, name: 'latest', push_time: 1, pull_time: null }).execute();
  const recorder = new PullRecorder(k, new Outbox(), pino({ level: 'silent' }), { maxBatch: 16, maxDelayMs: 2 });
  const record = (tag: string | null) => recorder.record({ ctx: { actor: anonymous }, project, repository, artifact, tag });
  const counts = async () => ({
    events: (await k.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('type', '=', 'PULL_ARTIFACT').executeTakeFirstOrThrow()).n,
    pulls: (await k.selectFrom('repositories').select('pull_count').where('id', '=', repository.id).executeTakeFirstOrThrow()).pull_count,
  });
  return { db, k, recorder, record, counts, artifact };
}

test('concurrent pulls are written in batches: one event and one pull_count per pull, pull times set', async () => {
  const { db, k, record, counts, artifact } = await fixture();
  try {
    // 100 pulls at once: more than one batch of 16, so batches follow each other.
    const settled = await Promise.all(Array.from({ length: 100 }, (_, i) => record(i % 2 === 0 ? 'latest' : null).then(() => counts())));
    // Every pull resolved only after its own event had been committed.
    settled.forEach((c, i) => assert.ok(c.events >= i + 1 - 15, `pull ${i} resolved with ${c.events} events committed`));
    assert.deepEqual(await counts(), { events: 100, pulls: 100 });
    const a = await k.selectFrom('artifacts').select('pull_time').where('id', '=', artifact.id).executeTakeFirstOrThrow();
    const t = await k.selectFrom('tags').select('pull_time').where('name', '=', 'latest').executeTakeFirstOrThrow();
    assert.ok(a.pull_time !== null && t.pull_time !== null);
    const rows = await k.selectFrom('events').select('data').where('type', '=', 'PULL_ARTIFACT').execute();
    const events = rows.map((r) => JSON.parse(r.data) as { artifact: { tag: string | null; tags: string[] }; repository: { name: string } });
    assert.equal(events.filter((e) => e.artifact.tag === 'latest').length, 50);
    assert.equal(events.filter((e) => e.artifact.tag === null).length, 50);
    for (const e of events) {
      assert.deepEqual(e.artifact.tags, ['latest']);
      assert.equal(e.repository.name, 'library/alpine');
    }
  } finally {
    await db.close();
  }
});

test('each pull resolves only after its batch committed; close() writes what is queued', async () => {
  const { db, recorder, record, counts } = await fixture();
  try {
    await record('latest');
    assert.deepEqual(await counts(), { events: 1, pulls: 1 }, 'committed when record() resolved');
    // Queued without waiting (below the batch size, before the 2 ms timer): close() must still write them.
    const pending = [record('latest'), record(null), record(null)];
    await recorder.close();
    assert.deepEqual(await counts(), { events: 4, pulls: 4 });
    await Promise.all(pending);
  } finally {
    await db.close();
  }
});

test('a batch that cannot be written rejects every pull in it', async () => {
  const { db, recorder, record } = await fixture();
  await db.close();
  await assert.rejects(Promise.all([record('latest'), record(null)]));
  await recorder.close();
});
