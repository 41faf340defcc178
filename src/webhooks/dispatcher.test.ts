import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventRepository, eventTag, foldedAway, policyMatches, withoutPlatforms } from './dispatcher.ts';
import type { WharfEvent } from '../events/index.ts';

const project = { id: 1, name: 'library', public: true };
const push = (repo: string, tag: string | null): WharfEvent => ({
  type: 'PUSH_ARTIFACT',
  id: 'e1',
  occurAt: 0,
  operator: 'admin',
  project,
  repository: { id: 1, name: repo, creationTime: null },
  artifact: { digest: `sha256:${'c'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, tag, tags: tag ? [tag] : [], artifactType: null },
});
const projectEvent: WharfEvent = { type: 'CREATE_PROJECT', id: 'e2', occurAt: 0, operator: 'admin', project };

const pol = (eventTypes: string[], repo: string[] = [], tag: string[] = []) => ({
  event_types: JSON.stringify(eventTypes),
  repo_filters: JSON.stringify(repo),
  tag_filters: JSON.stringify(tag),
});

test('repository and tag of an event', () => {
  assert.equal(eventRepository(push('library/a', 'v1')), 'library/a');
  assert.equal(eventTag(push('library/a', 'v1')), 'v1');
  assert.equal(eventTag(push('library/a', null)), null);
  assert.equal(eventRepository(projectEvent), null);
  assert.equal(eventTag(projectEvent), null);
});

test('event types must be subscribed', () => {
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT']), push('library/a', 'v1')), true);
  assert.equal(policyMatches(pol(['PULL_ARTIFACT']), push('library/a', 'v1')), false);
  assert.equal(policyMatches(pol([]), push('library/a', 'v1')), false);
});

test('repository globs match the full name; tag globs the event tag', () => {
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], ['library/*']), push('library/a', 'v1')), true);
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], ['team/**']), push('library/a', 'v1')), false);
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], ['team/**']), push('team/x/y', 'v1')), true);
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], [], ['v*']), push('library/a', 'v1')), true);
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], [], ['v*']), push('library/a', 'latest')), false);
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], [], ['v*']), push('library/a', null)), false, 'no tag: only empty tag filters match');
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], [], []), push('library/a', null)), true);
});

test('events without a repository match only empty repository filters', () => {
  assert.equal(policyMatches(pol(['CREATE_PROJECT']), projectEvent), true);
  assert.equal(policyMatches(pol(['CREATE_PROJECT'], ['library/**']), projectEvent), false);
});

test('corrupt JSON columns match nothing rather than everything', () => {
  assert.equal(policyMatches({ event_types: 'not json', repo_filters: '[]', tag_filters: '[]' }, push('library/a', 'v1')), false);
});

const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const ociIndex = 'application/vnd.oci.image.index.v1+json';
const pushOf = (mediaType: string, tag: string | null, artifactType: string | null = null, digest = 'c'): WharfEvent => {
  const e = push('library/a', tag);
  return e.type === 'PUSH_ARTIFACT' ? { ...e, artifact: { ...e.artifact, digest: `sha256:${digest.repeat(64)}`, mediaType, artifactType } } : e;
};

test('folding leaves out image manifests pushed by digest, nothing else', () => {
  assert.equal(foldedAway(pushOf(ociManifest, null)), true, 'a platform manifest pushed by digest');
  assert.equal(foldedAway(pushOf('application/vnd.docker.distribution.manifest.v2+json', null)), true);
  assert.equal(foldedAway(pushOf(ociManifest, 'v1')), false, 'pushed by tag');
  assert.equal(foldedAway(pushOf(ociIndex, null)), false, 'an index');
  assert.equal(foldedAway(pushOf(ociManifest, null, 'application/spdx+json')), false, 'an artifact (a referrer) with artifactType');
  assert.equal(foldedAway(projectEvent), false);
  const tagged = push('library/a', null);
  assert.equal(foldedAway(tagged.type === 'PUSH_ARTIFACT' ? { ...tagged, type: 'PULL_ARTIFACT' } : tagged), false, 'pulls are not folded');
});

test('withoutPlatforms drops only an index push list', () => {
  const idx = pushOf(ociIndex, 'v1');
  const withList: WharfEvent = idx.type === 'PUSH_ARTIFACT' ? { ...idx, platforms: [{ digest: 'sha256:x', os: 'linux', architecture: 'amd64' }] } : idx;
  assert.equal('platforms' in withoutPlatforms(withList), false);
  assert.deepEqual(withoutPlatforms(withList), idx);
  assert.equal(withoutPlatforms(idx), idx, 'the same object when there is nothing to drop');
  assert.equal(withoutPlatforms(projectEvent), projectEvent);
});

// ---- The dispatcher against a real SQLite file: batches, claims, broken rows. ----

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { pino } from 'pino';
import { openDatabase, type Db } from '../db/index.ts';
import { databaseTargetOf, dropDatabaseOf, onPostgres } from '../../test/helpers/db.ts';
import { loadConfig } from '../config/index.ts';
import { ConsumerRunner, Outbox, eventFromRow } from '../events/index.ts';
import { dispatcherName, formatContext, webhookDispatcher } from './dispatcher.ts';
import { formatterFor } from './formats/index.ts';

const silent = pino({ level: 'silent' });

interface Fixture {
  dir: string;
  file: string;
  db: Db;
  outbox: Outbox;
  targets: number[];
  close(): Promise<void>;
}

/**
 * A database file (a PostgreSQL database in that pass; `file` is then its URL) with one enabled
 * system-wide policy (PUSH_ARTIFACT, CREATE_TAG) and `targets` enabled targets.
 */
async function fixture(targets = 2): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-dispatch-'));
  const file = await databaseTargetOf(dir);
  const db = await openDatabase(file);
  const policy = await db.kysely
    .insertInto('webhook_policies')
    .values({ project_id: null, name: 'p', description: '', enabled: 1, event_types: '["PUSH_ARTIFACT","CREATE_TAG"]', repo_filters: '[]', tag_filters: '[]', creator: '', creation_time: 1, update_time: 1 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const ids: number[] = [];
  for (let i = 0; i < targets; i++) {
    const t = await db.kysely
      .insertInto('webhook_targets')
      .values({ policy_id: policy.id, position: i, type: 'http', address: `http://127.0.0.1:9/${i}`, payload_format: i % 2 ? 'CloudEvents' : 'Default', options: '{}', auth_header: '', skip_cert_verify: 0, secret: '', headers: '{}', timeout_ms: null, enabled: 1, failing_since: null, disabled_reason: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push(t.id);
  }
  return {
    dir,
    file,
    db,
    outbox: new Outbox(),
    targets: ids,
    close: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
      await dropDatabaseOf(dir);
    },
  };
}

/** A consumer runner with the dispatcher registered, as main.ts does: runOnce() drains it (returns how many events it handled). */
interface TestDispatcher {
  runOnce(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

function dispatcherOn(f: Fixture, extra: { batchSize?: number; coalesceMs?: number; pollMs?: number; onCommitted?: (executions: number) => void } = {}): TestDispatcher {
  const config = loadConfig({ env: {}, file: null, overrides: { data_dir: f.dir } });
  const runner = new ConsumerRunner({ db: f.db.kysely, outbox: f.outbox, logger: silent });
  runner.register(webhookDispatcher({ db: f.db.kysely, config, logger: silent, ...extra }));
  return { runOnce: () => runner.drain(dispatcherName), start: () => runner.start(), stop: () => runner.stop() };
}

async function appendPushes(f: Fixture, n: number, from = 0): Promise<void> {
  await f.db.kysely.transaction().execute(async (trx) => {
    for (let i = from; i < from + n; i++) {
      await f.outbox.append(trx, { type: 'PUSH_ARTIFACT', operator: 'admin', project, repository: { id: 1, name: 'library/a', creationTime: null }, artifact: { digest: `sha256:${'c'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, tag: `t${i}`, tags: [`t${i}`], artifactType: null } });
    }
  });
}

async function counts(f: Fixture): Promise<{ executions: number; tasks: number; pending: number; pairs: number }> {
  const one = async (q: string) => Number((await sql<{ n: number }>`${sql.raw(q)}`.execute(f.db.kysely)).rows[0]?.n ?? -1);
  return {
    executions: await one(`SELECT count(*) AS n FROM webhook_executions`),
    tasks: await one(`SELECT count(*) AS n FROM webhook_tasks WHERE status = 'Pending'`),
    // What the pending gauge reports: the events after the dispatcher's cursor plus its parked ones.
    pending: await one(`SELECT (SELECT count(*) FROM events WHERE seq > (SELECT seq FROM outbox_cursors WHERE name = 'webhooks')) + (SELECT count(*) FROM outbox_parked WHERE consumer = 'webhooks') AS n`),
    pairs: await one(`SELECT count(DISTINCT event_seq || ':' || target_id) AS n FROM webhook_executions`),
  };
}

test('a batch of N events is dispatched in one transaction: N x targets executions and tasks, one onCommitted call', async () => {
  const f = await fixture(2);
  try {
    await appendPushes(f, 60);
    const calls: number[] = [];
    const d = dispatcherOn(f, { onCommitted: (n) => calls.push(n) });
    assert.equal(await d.runOnce(), 60);
    assert.deepEqual(await counts(f), { executions: 120, tasks: 120, pending: 0, pairs: 120 });
    assert.deepEqual(calls, [120], 'one transaction (one commit, one onCommitted) for the whole batch');
    assert.equal(await d.runOnce(), 0, 'a second round finds nothing');
    assert.equal((await counts(f)).executions, 120);

    // batchSize bounds a transaction: 45 events in batches of 20 are three transactions.
    await appendPushes(f, 45, 100);
    const small: number[] = [];
    const d2 = dispatcherOn(f, { batchSize: 20, onCommitted: (n) => small.push(n) });
    assert.equal(await d2.runOnce(), 45);
    assert.deepEqual(small, [40, 40, 10]);
    assert.deepEqual(await counts(f), { executions: 210, tasks: 210, pending: 0, pairs: 210 });
  } finally {
    await f.close();
  }
});

test('each execution stores its body and the format headers it was rendered with (JSON), in the same INSERT', async () => {
  const f = await fixture(3);
  try {
    // Target 0: Default; 1: CloudEvents structured (the default mode); 2: CloudEvents binary.
    await f.db.kysely.updateTable('webhook_targets').set({ payload_format: 'CloudEvents', options: '{"cloudevents_mode":"binary"}' }).where('id', '=', f.targets[2] ?? -1).execute();
    await appendPushes(f, 2);
    const d = dispatcherOn(f);
    assert.equal(await d.runOnce(), 2);
    const rows = await f.db.kysely
      .selectFrom('webhook_executions as e')
      .innerJoin('webhook_targets as t', 't.id', 'e.target_id')
      .innerJoin('webhook_policies as p', 'p.id', 'e.policy_id')
      .innerJoin('events as ev', 'ev.seq', 'e.event_seq')
      .select(['e.payload', 'e.headers', 'e.target_id', 't.type', 't.payload_format', 't.options', 'p.id as policy_id', 'p.name', 'p.project_id', 'ev.seq', 'ev.id', 'ev.type as event_type', 'ev.occur_at', 'ev.operator', 'ev.project_id as event_project', 'ev.data', 'ev.dispatched_at'])
      .orderBy('e.id')
      .execute();
    assert.equal(rows.length, 6);
    const config = loadConfig({ env: {}, file: null, overrides: { data_dir: f.dir } });
    for (const r of rows) {
      assert.ok(r.headers !== null, 'headers are stored');
      const event = eventFromRow({ seq: r.seq, id: r.id, type: r.event_type, occur_at: r.occur_at, operator: r.operator, project_id: r.event_project, data: r.data, dispatched_at: r.dispatched_at });
      const expected = formatterFor(r.type, r.payload_format)(event, formatContext(config.external_url, { id: r.policy_id, name: r.name, project_id: r.project_id }, r));
      assert.equal(r.payload, expected.body);
      assert.deepEqual(JSON.parse(r.headers), expected.headers, `headers of target ${r.target_id}`);
    }
    const byTarget = (i: number) => rows.filter((r) => r.target_id === f.targets[i]).map((r): Record<string, string> => JSON.parse(r.headers ?? 'null'));
    assert.ok(byTarget(0).every((h) => h['Content-Type'] === 'application/json'));
    assert.ok(byTarget(1).every((h) => h['Content-Type'] === 'application/cloudevents+json' && !Object.keys(h).some((k) => k.startsWith('ce-'))), 'structured mode: no ce-* headers');
    assert.deepEqual(byTarget(2).map((h) => h['ce-id']), rows.filter((r) => r.target_id === f.targets[2]).map((r) => r.id), 'binary mode: the event id in ce-id');
  } finally {
    await f.close();
  }
});

test('events no enabled policy subscribes to cost no transaction; a policy added later gets the events after it', async () => {
  const f = await fixture(1);
  try {
    const k = f.db.kysely;
    let transactions = 0;
    const begin = k.transaction.bind(k);
    k.transaction = () => {
      transactions++;
      return begin();
    };
    const appendPulls = (n: number, projectId: number) =>
      k.transaction().execute(async (trx) => {
        for (let i = 0; i < n; i++) {
          await f.outbox.append(trx, { type: 'PULL_ARTIFACT', operator: 'admin', project: { ...project, id: projectId }, repository: { id: 1, name: 'library/a', creationTime: null }, artifact: { digest: `sha256:${'c'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, tag: 'v1', tags: ['v1'], artifactType: null } });
        }
      });
    const subscribe = async (projectId: number | null) => {
      const policy = await k
        .insertInto('webhook_policies')
        .values({ project_id: projectId, name: `pulls-${projectId}`, description: '', enabled: 1, event_types: '["PULL_ARTIFACT"]', repo_filters: '[]', tag_filters: '[]', creator: '', creation_time: 1, update_time: 1 })
        .returning('id')
        .executeTakeFirstOrThrow();
      await k
        .insertInto('webhook_targets')
        .values({ policy_id: policy.id, position: 0, type: 'http', address: 'http://127.0.0.1:9/pulls', payload_format: 'Default', options: '{}', auth_header: '', skip_cert_verify: 0, secret: '', headers: '{}', timeout_ms: null, enabled: 1, failing_since: null, disabled_reason: null })
        .execute();
    };
    for (const name of ['library', 'team']) {
      await k.insertInto('projects').values({ name, public: 1, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: 1, update_time: 1, registry_id: null }).execute();
    }
    const [one, two] = (await k.selectFrom('projects').select('id').where('name', 'in', ['library', 'team']).orderBy('name').execute()).map((p) => p.id);
    assert.ok(one !== undefined && two !== undefined);
    const d = dispatcherOn(f);
    await appendPulls(30, one);
    transactions = 0;
    assert.equal(await d.runOnce(), 0);
    assert.equal(transactions, 0, 'pulls no policy subscribes to: no transaction');
    assert.deepEqual(await counts(f), { executions: 0, tasks: 0, pending: 0, pairs: 0 });
    // Another project's policy for pulls: still nothing to do with this project's pulls.
    await subscribe(two);
    await appendPulls(10, one);
    transactions = 0;
    assert.equal(await d.runOnce(), 0);
    assert.equal(transactions, 0);
    // A policy of this project: the pulls after it are dispatched (the earlier ones were passed by).
    await subscribe(one);
    await appendPulls(5, one);
    assert.equal(await d.runOnce(), 5);
    assert.deepEqual(await counts(f), { executions: 5, tasks: 5, pending: 0, pairs: 5 });
    await appendPulls(3, two);
    assert.equal(await d.runOnce(), 3, 'and the other project now has its pulls delivered too');
    assert.equal((await counts(f)).executions, 8);
  } finally {
    await f.close();
  }
});

test('per-row rules hold inside a batch: operational events, unreadable data, notifications off', async () => {
  const f = await fixture(1);
  try {
    await appendPushes(f, 1);
    await f.db.kysely.insertInto('events').values({ id: 'bad-json', type: 'PUSH_ARTIFACT', occur_at: 1, operator: 'admin', project_id: null, data: '{not json', dispatched_at: null }).execute();
    await f.outbox.append(f.db.kysely, { type: 'WEBHOOK_TARGET_DISABLED', operator: '', project, targetId: f.targets[0] ?? 0, policyId: 1, address: 'http://127.0.0.1:9/0', reason: 'x' });
    await appendPushes(f, 1, 1);
    const d = dispatcherOn(f);
    assert.equal(await d.runOnce(), 4, 'every row is marked dispatched');
    const execs = await f.db.kysely.selectFrom('webhook_executions').select(['event_id', 'status']).execute();
    assert.equal(execs.length, 2, 'only the two readable pushes get deliveries');
    assert.ok(execs.every((e) => e.event_id !== 'bad-json' && e.status === 'Running'));

    await f.db.kysely.insertInto('configurations').values({ key: 'notification_enable', value: 'false' }).execute();
    await appendPushes(f, 3, 10);
    assert.equal(await d.runOnce(), 3);
    const c = await counts(f);
    assert.equal(c.pending, 0, 'dropped while notifications are off, as Harbor does');
    assert.equal(c.executions, 2);
  } finally {
    await f.close();
  }
});

test('two dispatchers on the same database never dispatch an event twice', async () => {
  const f = await fixture(2);
  try {
    await appendPushes(f, 300);
    let renderedA = 0;
    let renderedB = 0;
    const a = dispatcherOn(f, { batchSize: 25, onCommitted: (n) => (renderedA += n) });
    const b = dispatcherOn(f, { batchSize: 25, onCommitted: (n) => (renderedB += n) });
    const [na, nb] = await Promise.all([a.runOnce(), b.runOnce()]);
    assert.equal(na + nb, 300, `each event claimed by exactly one dispatcher (got ${na} + ${nb})`);
    assert.equal(renderedA + renderedB, 600);
    assert.deepEqual(await counts(f), { executions: 600, tasks: 600, pending: 0, pairs: 600 });
  } finally {
    await f.close();
  }
});

/** Runs the dispatcher over `file` in a worker thread (its own database connection); resolves with how many events it dispatched. */
function dispatchInWorker(file: string, dir: string, start: SharedArrayBuffer): Promise<number> {
  const code = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  (await import('tsx/esm/api')).register(); // the worker loads the TypeScript sources too
  const { openDatabase } = await import(workerData.db);
  const { loadConfig } = await import(workerData.config);
  const { ConsumerRunner, Outbox } = await import(workerData.outbox);
  const { webhookDispatcher } = await import(workerData.dispatcher);
  const { pino } = await import('pino');
  const db = await openDatabase(workerData.file, { listen: false });
  const config = loadConfig({ env: {}, file: null, overrides: { data_dir: workerData.dir } });
  const logger = pino({ level: 'silent' });
  const d = new ConsumerRunner({ db: db.kysely, outbox: new Outbox(), logger });
  d.register(webhookDispatcher({ db: db.kysely, config, logger, batchSize: 10 }));
  const flag = new Int32Array(workerData.start);
  Atomics.add(flag, 1, 1);
  Atomics.wait(flag, 0, 0); // both workers start together
  let n = 0;
  for (let i = 0; i < 5; i++) n += await d.drain('webhooks');
  await db.close();
  parentPort.postMessage(n);
})().catch((err) => { throw err; });
`;
  const url = (p: string) => new URL(p, import.meta.url).href;
  const w = new Worker(code, {
    eval: true,
    workerData: { file, dir, start, db: url('../db/index.ts'), config: url('../config/index.ts'), outbox: url('../events/index.ts'), dispatcher: url('./dispatcher.ts') },
  });
  return new Promise((resolve, reject) => {
    w.once('message', (n: number) => resolve(n));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`dispatcher worker exited (${code}) without an answer`)));
  });
}

test('two processes (separate connections) dispatching concurrently produce no duplicates', async () => {
  const f = await fixture(2);
  try {
    await appendPushes(f, 400);
    const start = new SharedArrayBuffer(8);
    const flag = new Int32Array(start);
    let failed = false;
    const both = Promise.all([dispatchInWorker(f.file, f.dir, start), dispatchInWorker(f.file, f.dir, start)]);
    both.catch(() => (failed = true));
    while (Atomics.load(flag, 1) < 2 && !failed) await new Promise((r) => setTimeout(r, 5));
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    const [na, nb] = await both;
    assert.equal(na + nb, 400, `each event claimed by exactly one (got ${na} + ${nb})`);
    assert.deepEqual(await counts(f), { executions: 800, tasks: 800, pending: 0, pairs: 800 });
  } finally {
    await f.close();
  }
});

test('a row that breaks its batch does not block the others; it is retried alone until it goes through', async () => {
  const f = await fixture(2);
  try {
    await appendPushes(f, 10);
    const poison = 4;
    // A real trigger that refuses the executions of one event, as a corrupt row or a bug would.
    if (onPostgres) {
      await sql.raw(`CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.event_seq = ${poison} THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$`).execute(f.db.kysely);
      await sql.raw(`CREATE TRIGGER poison BEFORE INSERT ON webhook_executions FOR EACH ROW EXECUTE FUNCTION poison()`).execute(f.db.kysely);
    } else {
      await sql.raw(`CREATE TRIGGER poison BEFORE INSERT ON webhook_executions WHEN NEW.event_seq = ${poison} BEGIN SELECT RAISE(ABORT, 'poisoned'); END`).execute(f.db.kysely);
    }
    const d = dispatcherOn(f);
    assert.equal(await d.runOnce(), 9, 'all but the broken event are dispatched');
    let c = await counts(f);
    assert.deepEqual([c.pending, c.executions], [1, 18]);
    const left = await f.db.kysely.selectFrom('outbox_parked').select('seq').where('consumer', '=', 'webhooks').execute();
    assert.deepEqual(left.map((r) => r.seq), [poison], 'the broken row stays pending');

    // Later events still go through in one batch while the broken one keeps failing alone.
    const calls: number[] = [];
    const d2 = dispatcherOn(f, { onCommitted: (n) => calls.push(n) });
    await d2.runOnce(); // learns which row is broken
    await appendPushes(f, 5, 100);
    calls.length = 0;
    assert.equal(await d2.runOnce(), 5);
    assert.deepEqual(calls, [10], 'the new events form one batch; the broken one no longer drags them to one-by-one');
    c = await counts(f);
    assert.deepEqual([c.pending, c.executions], [1, 28]);

    await sql.raw(onPostgres ? `DROP TRIGGER poison ON webhook_executions` : `DROP TRIGGER poison`).execute(f.db.kysely);
    assert.equal(await d2.runOnce(), 1, 'once fixed, it is dispatched');
    assert.deepEqual(await counts(f), { executions: 30, tasks: 30, pending: 0, pairs: 30 });
  } finally {
    await f.close();
  }
});

test('an idle dispatcher reacts at once to the first event, even with a long coalescing window', async () => {
  const f = await fixture(1);
  try {
    let at = 0;
    const d = dispatcherOn(f, { coalesceMs: 1000, pollMs: 60_000, onCommitted: () => (at = performance.now()) });
    d.start();
    await new Promise((r) => setTimeout(r, 1100)); // idle for longer than the window
    const t0 = performance.now();
    await appendPushes(f, 1);
    for (let i = 0; i < 200 && at === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await d.stop();
    assert.ok(at > 0, 'the event was dispatched');
    assert.ok(at - t0 < 200, `dispatched ${Math.round(at - t0)} ms after the append (no coalescing delay when idle)`);
  } finally {
    await f.close();
  }
});

test('status filters and platform folding per policy: what each policy gets, and the platforms only folding ones see', async () => {
  const f = await fixture(1); // policy "p": PUSH_ARTIFACT, CREATE_TAG, no filters, no folding
  try {
    const policy = async (name: string, values: { event_types: string; status_filters?: string; fold_platforms?: number }) => {
      const p = await f.db.kysely
        .insertInto('webhook_policies')
        .values({ project_id: null, name, description: '', enabled: 1, repo_filters: '[]', tag_filters: '[]', creator: '', creation_time: 1, update_time: 1, ...values })
        .returning('id')
        .executeTakeFirstOrThrow();
      await f.db.kysely
        .insertInto('webhook_targets')
        .values({ policy_id: p.id, position: 0, type: 'http', address: `http://127.0.0.1:9/${name}`, payload_format: 'Default', options: '{}', auth_header: '', skip_cert_verify: 0, secret: '', headers: '{}', timeout_ms: null, enabled: 1, failing_since: null, disabled_reason: null })
        .execute();
      return p.id;
    };
    const folded = await policy('folded', { event_types: '["PUSH_ARTIFACT"]', fold_platforms: 1 });
    const failures = await policy('failures', { event_types: '["SCANNING_COMPLETED","SCANNING_FAILED","PUSH_ARTIFACT"]', status_filters: '{"scan_status":["Error"]}' });
    const broken = await policy('broken', { event_types: '["PUSH_ARTIFACT"]', status_filters: 'not json' });
    const repository = { id: 1, name: 'library/a', creationTime: null };
    const art = (digest: string, mediaType: string, tag: string | null) => ({ digest: `sha256:${digest.repeat(64)}`, mediaType, size: 1, tag, tags: tag ? [tag] : [], artifactType: null });
    await f.db.kysely.transaction().execute(async (trx) => {
      for (const d of ['a', 'b']) await f.outbox.append(trx, { type: 'PUSH_ARTIFACT', operator: 'admin', project, repository, artifact: art(d, ociManifest, null) });
      await f.outbox.append(trx, {
        type: 'PUSH_ARTIFACT',
        operator: 'admin',
        project,
        repository,
        artifact: art('d', ociIndex, 'v1'),
        platforms: [
          { digest: `sha256:${'a'.repeat(64)}`, os: 'linux', architecture: 'amd64' },
          { digest: `sha256:${'b'.repeat(64)}`, os: 'linux', architecture: 'arm64', variant: 'v8' },
        ],
      });
      for (const type of ['SCANNING_COMPLETED', 'SCANNING_FAILED'] as const) {
        await f.outbox.append(trx, { type, operator: 'admin', project, repository, artifact: art('d', ociIndex, 'v1'), scanType: 'vulnerability', overview: {} });
      }
    });
    assert.equal(await dispatcherOn(f).runOnce(), 5);
    const rows = await f.db.kysely.selectFrom('webhook_executions').select(['policy_id', 'event_type', 'payload']).orderBy('id').execute();
    const of = (id: number) => rows.filter((r) => r.policy_id === id).map((r) => JSON.parse(r.payload) as { type: string; event_data: { resources: Array<{ digest: string; platforms?: unknown }> } });
    const plain = of(f.targets.length > 0 ? ((await f.db.kysely.selectFrom('webhook_policies').select('id').where('name', '=', 'p').executeTakeFirstOrThrow()).id) : -1);
    assert.deepEqual(plain.map((b) => b.event_data.resources[0]?.digest.slice(7, 8)), ['a', 'b', 'd'], 'an unfolded policy gets every manifest');
    assert.ok(plain.every((b) => b.event_data.resources[0]?.platforms === undefined), 'and no platforms list: its bodies are as before');
    const fold = of(folded);
    assert.equal(fold.length, 1, 'a folded policy gets one event, the index');
    assert.deepEqual(fold[0]?.event_data.resources[0]?.platforms, [
      { digest: `sha256:${'a'.repeat(64)}`, os: 'linux', architecture: 'amd64' },
      { digest: `sha256:${'b'.repeat(64)}`, os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    assert.deepEqual(
      of(failures).map((b) => b.type),
      ['PUSH_ARTIFACT', 'PUSH_ARTIFACT', 'PUSH_ARTIFACT', 'SCANNING_FAILED'],
      'scan_status [Error] keeps SCANNING_FAILED only; pushes pass (the filter does not apply to them)',
    );
    assert.equal(of(broken).length, 0, 'an unreadable status_filters column matches nothing');
  } finally {
    await f.close();
  }
});

test('Slack and Discord name the platforms of a folded push', () => {
  const idx = pushOf(ociIndex, 'v1');
  assert.equal(idx.type, 'PUSH_ARTIFACT');
  if (idx.type !== 'PUSH_ARTIFACT') return;
  const folded: WharfEvent = { ...idx, platforms: [{ digest: 'sha256:a', os: 'linux', architecture: 'amd64' }, { digest: 'sha256:b', os: 'linux', architecture: 'arm64', variant: 'v8' }, { digest: 'sha256:c' }] };
  const ctx = formatContext('https://wharf.example.com', { id: 1, name: 'p', project_id: 1 }, { type: 'slack', payload_format: '', options: '{}' });
  for (const type of ['slack', 'discord']) {
    const body = formatterFor(type, '')(folded, { ...ctx, target: { ...ctx.target, type } }).body;
    assert.match(body, /Platforms/, type);
    assert.match(body, /linux\/amd64, linux\/arm64\/v8, sha256:c/, type);
    assert.doesNotMatch(formatterFor(type, '')(idx, { ...ctx, target: { ...ctx.target, type } }).body, /Platforms/, `${type}: not without the list`);
  }
});
