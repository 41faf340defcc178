/** The manifest lookups on the test database (SQLite, or PostgreSQL with WHARF_TEST_DATABASE=postgres). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDatabase } from '../../test/helpers/db.ts';
import { isPostgres, registryStore, type ManifestKey } from '../db/index.ts';
import { ManifestLookups } from './manifest-lookups.ts';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

test('lookups asked together answer what each lookup alone answers, in one statement per kind on PostgreSQL', async () => {
  const db = await openTestDatabase();
  const k = db.kysely;
  try {
    const now = Date.now();
    const project = (name: string, pub: number) =>
      k.insertInto('projects').values({ name, public: pub, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: now, update_time: now, registry_id: null }).returning('id').executeTakeFirstOrThrow();
    const p1 = await project('p1', 1);
    const p2 = await project('p2', 0);
    const repo = (projectId: number, name: string) => k.insertInto('repositories').values({ project_id: projectId, name, pull_count: 0, creation_time: now, update_time: now }).returning('id').executeTakeFirstOrThrow();
    const r1 = await repo(p1.id, 'p1/app');
    const r2 = await repo(p2.id, 'p2/tool');
    const artifact = (repositoryId: number, d: string) =>
      k
        .insertInto('artifacts')
        .values({ repository_id: repositoryId, digest: d, media_type: 'application/vnd.oci.image.manifest.v1+json', artifact_type: null, config_media_type: null, size: 10, manifest_size: 5, subject_digest: null, annotations: null, push_time: now, pull_time: null })
        .returning('id')
        .executeTakeFirstOrThrow();
    const a1 = await artifact(r1.id, digest('a'));
    const a2 = await artifact(r1.id, digest('b'));
    const a3 = await artifact(r2.id, digest('c'));
    for (const [repositoryId, artifactId, name] of [
      [r1.id, a1.id, 'v1'],
      [r1.id, a2.id, 'v2'],
      [r2.id, a3.id, 'latest'],
    ] as const) {
      await k.insertInto('tags').values({ repository_id: repositoryId, artifact_id: artifactId, name, push_time: now, pull_time: null }).execute();
    }

    const keys: ManifestKey[] = [
      { projectName: 'p1', repoName: 'p1/app', reference: 'v1', byDigest: false },
      { projectName: 'p1', repoName: 'p1/app', reference: 'v2', byDigest: false },
      { projectName: 'p1', repoName: 'p1/app', reference: 'nope', byDigest: false },
      { projectName: 'p1', repoName: 'p1/none', reference: 'v1', byDigest: false },
      { projectName: 'gone', repoName: 'gone/app', reference: 'v1', byDigest: false },
      { projectName: 'p2', repoName: 'p2/tool', reference: 'latest', byDigest: false },
      { projectName: 'p1', repoName: 'p1/app', reference: digest('b'), byDigest: true },
      { projectName: 'p1', repoName: 'p1/app', reference: digest('c'), byDigest: true },
      { projectName: 'p2', repoName: 'p2/tool', reference: digest('c'), byDigest: true },
      { projectName: "it's", repoName: "it's/a,{b}", reference: 'x"y', byDigest: false },
    ];
    const alone = [];
    for (const key of keys) alone.push(await registryStore.manifestTarget(k, key.projectName, key.repoName, key.reference, key.byDigest));

    let batches = 0;
    const original = registryStore.manifestTargetsPg;
    registryStore.manifestTargetsPg = (...args) => {
      batches++;
      return original.apply(registryStore, args);
    };
    try {
      const lookups = new ManifestLookups(k);
      // Twice each key, all asked in one turn.
      const together = await Promise.all([...keys, ...keys].map((key) => lookups.target(key)));
      assert.deepEqual(together, [...alone, ...alone]);
      assert.equal(batches, isPostgres(k) ? 2 : 0, 'PostgreSQL: one statement for the tags, one for the digests; SQLite: none');
    } finally {
      registryStore.manifestTargetsPg = original;
    }
    // Spot checks of what "alone" says, so that both sides cannot be wrong alike.
    assert.equal(alone[0]?.artifact?.digest, digest('a'));
    assert.equal(alone[1]?.artifact?.digest, digest('b'));
    assert.equal(alone[2]?.artifact, null);
    assert.equal(alone[2]?.repository?.name, 'p1/app');
    assert.equal(alone[3]?.repository, null);
    assert.equal(alone[4], null);
    assert.equal(alone[5]?.project.public, 0);
    assert.equal(alone[6]?.artifact?.digest, digest('b'));
    assert.equal(alone[7]?.artifact, null, 'a digest of another repository');
    assert.equal(alone[9], null);
    // Every column, as the tables' own rows have them (SQLite reads the lookup's rows as arrays).
    assert.deepEqual(alone[0], {
      project: await k.selectFrom('projects').selectAll().where('id', '=', p1.id).executeTakeFirstOrThrow(),
      repository: await k.selectFrom('repositories').select(['id', 'project_id', 'name', 'pull_count', 'creation_time', 'update_time']).where('id', '=', r1.id).executeTakeFirstOrThrow(),
      artifact: await k.selectFrom('artifacts').selectAll().where('id', '=', a1.id).executeTakeFirstOrThrow(),
    });
    assert.deepEqual(await registryStore.projectAndRepository(k, 'p2', 'p2/tool'), {
      project: await k.selectFrom('projects').selectAll().where('id', '=', p2.id).executeTakeFirstOrThrow(),
      repository: await k.selectFrom('repositories').select(['id', 'project_id', 'name', 'pull_count', 'creation_time', 'update_time']).where('id', '=', r2.id).executeTakeFirstOrThrow(),
      artifact: null,
    });
  } finally {
    await db.close();
  }
});

test('a lookup asked after a commit sees it', async () => {
  const db = await openTestDatabase();
  const k = db.kysely;
  try {
    const now = Date.now();
    const p = await k.insertInto('projects').values({ name: 'p', public: 1, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: now, update_time: now, registry_id: null }).returning('id').executeTakeFirstOrThrow();
    const lookups = new ManifestLookups(k);
    const key: ManifestKey = { projectName: 'p', repoName: 'p/r', reference: 'v1', byDigest: false };
    assert.equal((await lookups.target(key))?.repository, null);
    await k.insertInto('repositories').values({ project_id: p.id, name: 'p/r', pull_count: 0, creation_time: now, update_time: now }).execute();
    assert.equal((await lookups.target(key))?.repository?.name, 'p/r');
  } finally {
    await db.close();
  }
});
