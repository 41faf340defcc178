import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openTestDatabase } from '../../test/helpers/db.ts';
import { ConsumerRunner, Outbox, eventTypes, systemEventTypes, type WharfEvent } from '../events/index.ts';
import { loadConfig } from '../config/index.ts';
import { auditEntryFor, auditWriter, auditedEventTypes } from './audit-writer.ts';

const project = { id: 7, name: 'team', public: false };
const repository = { id: 3, name: 'team/app', creationTime: 1 };
const artifact = { digest: 'sha256:' + 'a'.repeat(64), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 10, tag: 'v1', tags: ['v1'], artifactType: null };

test('auditEntryFor maps events to Harbor operations and resources', () => {
  const base = { id: 'e', occurAt: 5, operator: 'alice' };
  assert.deepEqual(auditEntryFor({ ...base, type: 'PUSH_ARTIFACT', project, repository, artifact }), {
    username: 'alice', opTime: 5, projectId: 7, operation: 'create', resourceType: 'artifact', resource: 'team/app:v1',
  });
  assert.equal(auditEntryFor({ ...base, type: 'PULL_ARTIFACT', project, repository, artifact: { ...artifact, tag: null } })?.resource, `team/app@${artifact.digest}`);
  assert.equal(auditEntryFor({ ...base, type: 'DELETE_TAG', project, repository, artifact })?.resourceType, 'tag');
  const refused = auditEntryFor({ ...base, type: 'QUOTA_EXCEED', project, repository, artifact: null, details: 'x' });
  assert.deepEqual([refused?.operation, refused?.resourceType, refused?.resource, refused?.result], ['create', 'blob', 'team/app', 'failure']);
  assert.equal(auditEntryFor({ ...base, type: 'QUOTA_WARNING', project, repository, artifact: null, details: 'x' }), null);
});

test('the writer takes exactly the event types auditEntryFor maps', () => {
  const audited: readonly string[] = auditedEventTypes;
  for (const type of [...eventTypes, ...systemEventTypes]) {
    // One object with every field an event of any type carries, so each case of the switch can read its own.
    const e = { id: 'e', occurAt: 1, operator: 'a', type, project, repository, artifact, details: 'x', target: { id: 1, type: 'http', address: 'x' }, policy: { id: 1, name: 'p' }, reason: 'r' } as unknown as WharfEvent; // a test fixture covering every shape
    assert.equal(audited.includes(type), auditEntryFor(e) !== null, type);
  }
});

test('the writer consumes the outbox once; re-reading after a lost cursor adds nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-audit-'));
  const db = await openTestDatabase({ sqlitePath: join(dir, 'wharf.db') });
  try {
    const config = loadConfig({ env: {}, file: null, overrides: { data_dir: dir } });
    const outbox = new Outbox();
    const runner = new ConsumerRunner({ db: db.kysely, outbox, logger: pino({ level: 'silent' }) });
    runner.register(auditWriter(config));
    const drain = () => runner.drain('audit');
    const now = Date.now();
    await db.kysely.insertInto('projects').values({ id: 7, name: 'team', public: 0, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: now, update_time: now }).execute();
    for (let i = 0; i < 3; i++) await outbox.append(db.kysely, { type: 'PULL_ARTIFACT', operator: 'bob', project, repository, artifact });
    await outbox.append(db.kysely, { type: 'QUOTA_WARNING', operator: 'bob', project, repository, artifact: null, details: 'x' });
    assert.equal(await drain(), 3, 'the three pulls; QUOTA_WARNING is not audited');
    assert.equal(await drain(), 0);
    const count = async () => Number((await db.kysely.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    assert.equal(await count(), 3);
    // Losing the cursor (a restored backup) reads everything again: the unique event ids make it harmless.
    await db.kysely.updateTable('outbox_cursors').set({ seq: 0 }).where('name', '=', 'audit').execute();
    const fresh = new ConsumerRunner({ db: db.kysely, outbox, logger: pino({ level: 'silent' }) });
    fresh.register(auditWriter(config));
    assert.equal(await fresh.drain('audit'), 3);
    assert.equal(await count(), 3);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
