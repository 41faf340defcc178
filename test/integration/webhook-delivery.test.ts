/**
 * The webhook engine end to end: a real Wharf (real SQLite, real dispatcher and worker) delivering
 * to real node:http receivers on 127.0.0.1. Policies are inserted with SQL and events appended to
 * the outbox directly, so these tests depend only on the engine. Targets are inserted as the API
 * stores a system admin's loopback target (`options.admin_trusted`) unless a test says otherwise.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { Outbox, type WharfEvent } from '../../src/events/index.ts';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { dropDatabaseOf, openDataDirDatabase } from '../helpers/db.ts';
import { adminAuth, spawnWharf, startWharf, tempDataDir, type TestWharf } from '../helpers/wharf.ts';
import { header, jsonBody, startReceiver, type Receiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { formatContext } from '../../src/webhooks/dispatcher.ts';
import { formatterFor } from '../../src/webhooks/formats/index.ts';

type Kdb = TestWharf['wharf']['db']['kysely'];

const outbox = new Outbox();

async function project(db: Kdb, name: string): Promise<{ id: number; name: string; public: boolean }> {
  const now = Date.now();
  const existing = await db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
  if (existing) return { id: existing.id, name, public: existing.public === 1 };
  const r = await db
    .insertInto('projects')
    .values({ name, public: 0, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: now, update_time: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: r.id, name, public: false };
}

interface PolicySpec {
  projectId: number | null;
  name: string;
  eventTypes?: string[];
  repoFilters?: string[];
  tagFilters?: string[];
}

interface TargetSpec {
  address: string;
  type?: string;
  payload_format?: string;
  secret?: string;
  /** Merged over `{ admin_trusted: true }` (saved by a system admin: private addresses allowed). */
  options?: Record<string, unknown>;
  headers?: Record<string, string>;
  auth_header?: string;
  timeout_ms?: number | null;
}

async function policy(db: Kdb, p: PolicySpec, targets: TargetSpec[]): Promise<{ policyId: number; targetIds: number[] }> {
  const now = Date.now();
  const r = await db
    .insertInto('webhook_policies')
    .values({
      project_id: p.projectId,
      name: p.name,
      description: '',
      enabled: 1,
      event_types: JSON.stringify(p.eventTypes ?? ['PUSH_ARTIFACT']),
      repo_filters: JSON.stringify(p.repoFilters ?? []),
      tag_filters: JSON.stringify(p.tagFilters ?? []),
      creator: 'admin',
      creation_time: now,
      update_time: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const targetIds: number[] = [];
  for (const [i, t] of targets.entries()) {
    const tr = await db
      .insertInto('webhook_targets')
      .values({
        policy_id: r.id,
        position: i,
        type: t.type ?? 'http',
        address: t.address,
        payload_format: t.payload_format ?? ((t.type ?? 'http') === 'http' ? 'Default' : ''),
        options: JSON.stringify({ admin_trusted: true, ...t.options }),
        auth_header: t.auth_header ?? '',
        skip_cert_verify: 0,
        secret: t.secret ?? '',
        headers: JSON.stringify(t.headers ?? {}),
        timeout_ms: t.timeout_ms ?? null,
        enabled: 1,
        failing_since: null,
        disabled_reason: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    targetIds.push(tr.id);
  }
  return { policyId: r.id, targetIds };
}

async function push(db: Kdb, proj: { id: number; name: string; public: boolean }, repo: string, tag: string | null, type: 'PUSH_ARTIFACT' | 'PULL_ARTIFACT' = 'PUSH_ARTIFACT'): Promise<WharfEvent> {
  return outbox.append(db, {
    type,
    operator: 'admin',
    project: proj,
    repository: { id: 1, name: `${proj.name}/${repo}`, creationTime: Date.now() },
    artifact: { digest: `sha256:${'b'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 42, tag, tags: tag ? [tag] : [], artifactType: null },
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when the webhook dispatcher's cursor has passed every event with these ids (it does not mark events). */
async function dispatched(db: Kdb, ids: readonly string[]): Promise<boolean> {
  const cursor = await db.selectFrom('outbox_cursors').select('seq').where('name', '=', 'webhooks').executeTakeFirst();
  if (!cursor) return false;
  const rows = await db.selectFrom('events').select('seq').where('id', 'in', ids).execute();
  return rows.length === ids.length && rows.every((r) => Number(r.seq) <= Number(cursor.seq));
}

/** True when the webhook dispatcher's cursor is at the newest event. */
async function allDispatched(db: Kdb): Promise<boolean> {
  const cursor = await db.selectFrom('outbox_cursors').select('seq').where('name', '=', 'webhooks').executeTakeFirst();
  const last = await db.selectFrom('events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return cursor !== undefined && Number(cursor.seq) >= Number(last?.seq ?? 0);
}

async function executionsOf(db: Kdb, targetId: number) {
  return db.selectFrom('webhook_executions').selectAll().where('target_id', '=', targetId).orderBy('id').execute();
}

async function taskOf(db: Kdb, executionId: number) {
  return db.selectFrom('webhook_tasks').selectAll().where('execution_id', '=', executionId).executeTakeFirstOrThrow();
}

async function finalTask(db: Kdb, targetId: number, n = 1) {
  return until(`final status of target ${targetId}`, async () => {
    const ex = await executionsOf(db, targetId);
    if (ex.length < n || ex.some((e) => e.end_time === null)) return null;
    return Promise.all(ex.map(async (e) => ({ exec: e, task: await taskOf(db, e.id) })));
  });
}

async function attemptsOf(db: Kdb, taskId: number) {
  return db.selectFrom('webhook_attempts').selectAll().where('task_id', '=', taskId).orderBy('attempt').execute();
}

describe('webhook delivery engine', () => {
  let w: TestWharf;
  let rx: Receiver;
  let db: Kdb;

  before(async () => {
    w = await startWharf({ overrides: { webhooks: { retry_schedule: [0, 0.2, 0.2, 1.5], timeout_ms: 2000 } } });
    rx = await startReceiver();
    db = w.wharf.db.kysely;
  });

  after(async () => {
    await rx.close();
    await w.close();
  });

  it('delivers every payload format, signed, with Wharf headers, and stores redacted attempts', async () => {
    const proj = await project(db, 'formats');
    const secret = 'whsec_' + Buffer.from('a-very-secret-key-for-tests').toString('base64');
    const { targetIds } = await policy(db, { projectId: proj.id, name: 'all-formats' }, [
      { address: `${rx.url}/f/default`, payload_format: 'Default', secret, options: { signature_style: 'github' }, auth_header: 'Bearer TOPSECRET', headers: { 'X-Custom': 'CUSTOMSECRET' } },
      { address: `${rx.url}/f/cloudevents`, payload_format: 'CloudEvents' },
      { address: `${rx.url}/f/distribution`, payload_format: 'Distribution' },
      { address: `${rx.url}/f/msr`, payload_format: 'MSR' },
      { address: `${rx.url}/f/slack`, type: 'slack' },
      { address: `${rx.url}/f/discord`, type: 'discord' },
    ]);
    const event = await push(db, proj, 'app', 'v1');
    await rx.waitFor(6, 15_000, (r) => r.path.startsWith('/f/'));
    for (const p of ['default', 'cloudevents', 'distribution', 'msr', 'slack', 'discord']) {
      const got = rx.on(`/f/${p}`);
      assert.equal(got.length, 1, p);
      const r = got[0];
      assert.ok(r);
      assert.equal(r.method, 'POST');
      assert.ok(jsonBody(r), p);
      assert.equal(header(r, 'x-wharf-event-id'), event.id, p);
      assert.equal(header(r, 'x-wharf-event-type'), 'PUSH_ARTIFACT', p);
      assert.match(header(r, 'user-agent') ?? '', /^Wharf-Webhook\//);
    }
    const def = rx.on('/f/default')[0];
    assert.ok(def);
    const defBody = jsonBody(def) as { type: string; event_data: { repository: { repo_full_name: string } } };
    assert.equal(defBody.type, 'PUSH_ARTIFACT');
    assert.equal(defBody.event_data.repository.repo_full_name, 'formats/app');
    assert.match(header(rx.on('/f/cloudevents')[0] ?? def, 'content-type') ?? '', /cloudevents/);
    // Signatures: Standard Webhooks (library) and GitHub/Flux style (by hand).
    const hdrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(def.headers)) if (typeof v === 'string') hdrs[k] = v;
    assert.equal(hdrs['webhook-id'], event.id);
    assert.doesNotThrow(() => new Webhook(secret).verify(def.body.toString('utf8'), hdrs));
    const hex = createHmac('sha256', secret).update(def.body).digest('hex');
    assert.equal(hdrs['x-hub-signature-256'], `sha256=${hex}`);
    assert.equal(hdrs['x-signature'], `sha256=${hex}`);
    assert.equal(hdrs['authorization'], 'Bearer TOPSECRET');
    assert.equal(hdrs['x-custom'], 'CUSTOMSECRET');
    assert.equal(hdrs['x-wharf-delivery'], String((await executionsOf(db, targetIds[0] ?? 0))[0]?.id));

    const [d] = await finalTask(db, targetIds[0] ?? 0);
    assert.ok(d);
    assert.equal(d.exec.status, 'Success');
    assert.equal(d.exec.trigger, 'EVENT');
    assert.equal(d.exec.vendor_type, 'WEBHOOK');
    assert.equal(d.exec.payload, def.body.toString('utf8'), 'the execution stores the exact body sent');
    assert.equal(d.task.status, 'Success');
    assert.equal(d.task.run_count, 1);
    const [a] = await attemptsOf(db, d.task.id);
    assert.ok(a);
    assert.equal(a.response_status, 200);
    assert.equal(a.request_body, def.body.toString('utf8'));
    const stored = JSON.stringify(a);
    for (const s of ['TOPSECRET', 'CUSTOMSECRET', hex, hdrs['webhook-signature'] ?? 'x']) assert.ok(!stored.includes(s), `attempt row leaks ${s}`);
    const reqHeaders = JSON.parse(a.request_headers) as Record<string, string>;
    assert.equal(reqHeaders['authorization'], '<redacted>');
    assert.equal(reqHeaders['x-custom'], '<redacted>');
    assert.equal(reqHeaders['webhook-signature'], '<redacted>');
    assert.equal(reqHeaders['x-hub-signature-256'], '<redacted>');
    assert.equal(reqHeaders['webhook-id'], event.id);
    assert.equal(reqHeaders['x-wharf-event-id'], event.id);
    const slackExec = (await executionsOf(db, targetIds[4] ?? 0))[0];
    assert.equal(slackExec?.vendor_type, 'SLACK');
  });

  it('retries a receiver that fails twice, then succeeds: 3 attempts, same webhook-id', async () => {
    const proj = await project(db, 'retries');
    rx.respond('/retry', { statuses: [500, 503, 200] });
    const { targetIds } = await policy(db, { projectId: proj.id, name: 'retry' }, [{ address: `${rx.url}/retry`, secret: 'plain-secret' }]);
    const event = await push(db, proj, 'app', 'v1');
    const got = await rx.waitFor(3, 15_000, '/retry');
    const [d] = await finalTask(db, targetIds[0] ?? 0);
    assert.ok(d);
    assert.equal(d.task.status, 'Success');
    assert.equal(d.task.run_count, 3);
    assert.equal(d.exec.status, 'Success');
    const attempts = await attemptsOf(db, d.task.id);
    assert.deepEqual(attempts.map((a) => [a.attempt, a.response_status]), [[1, 500], [2, 503], [3, 200]]);
    assert.deepEqual(got.map((r) => header(r, 'webhook-id')), [event.id, event.id, event.id]);
    assert.equal(new Set(got.map((r) => r.body.toString())).size, 1, 'every retry sends the identical body');
    const t = await db.selectFrom('webhook_targets').selectAll().where('id', '=', targetIds[0] ?? 0).executeTakeFirstOrThrow();
    assert.equal(t.failing_since, null, 'a success clears failing_since');
    assert.equal(rx.on('/retry').length, 3);
  });

  it('honours Retry-After on 429: the next attempt waits at least that long', async () => {
    const proj = await project(db, 'throttle');
    rx.respond('/throttle', { statuses: [429, 200], retryAfter: '1' });
    const { targetIds } = await policy(db, { projectId: proj.id, name: 'throttle' }, [{ address: `${rx.url}/throttle` }]);
    await push(db, proj, 'app', 'v1');
    const [first, second] = await rx.waitFor(2, 15_000, '/throttle');
    assert.ok(first && second);
    assert.ok(second.receivedAt - first.receivedAt >= 1000, `waited only ${second.receivedAt - first.receivedAt} ms`);
    const [d] = await finalTask(db, targetIds[0] ?? 0);
    assert.equal(d?.task.status, 'Success');
    assert.equal(d?.task.run_count, 2);
  });

  it('a receiver that never answers times out, is retried through the schedule, and ends in Error', async () => {
    const proj = await project(db, 'silent');
    rx.respond('/silent', { never: true });
    const { targetIds } = await policy(db, { projectId: proj.id, name: 'silent' }, [{ address: `${rx.url}/silent`, timeout_ms: 300 }]);
    await push(db, proj, 'app', 'v1');
    const [d] = await finalTask(db, targetIds[0] ?? 0);
    assert.ok(d);
    assert.equal(d.task.status, 'Error');
    assert.equal(d.exec.status, 'Error');
    assert.equal(d.task.run_count, 4, 'the schedule has 4 steps');
    assert.equal(d.task.next_attempt_at, null);
    assert.match(d.task.status_message, /attempt 4 of 4 failed: timed out after 300 ms/);
    const attempts = await attemptsOf(db, d.task.id);
    assert.equal(attempts.length, 4);
    for (const a of attempts) {
      assert.equal(a.response_status, null);
      assert.match(a.error ?? '', /timed out/);
    }
    assert.equal(rx.on('/silent').length, 4);
  });

  it('a 400 fails at once, without retries', async () => {
    const proj = await project(db, 'bad');
    rx.respond('/bad', { statuses: [400, 200], body: 'no such hook' });
    const { targetIds } = await policy(db, { projectId: proj.id, name: 'bad' }, [{ address: `${rx.url}/bad` }]);
    await push(db, proj, 'app', 'v1');
    const [d] = await finalTask(db, targetIds[0] ?? 0);
    assert.ok(d);
    assert.equal(d.task.status, 'Error');
    assert.equal(d.task.run_count, 1);
    assert.equal(d.task.next_attempt_at, null);
    assert.match(d.task.status_message, /HTTP 400 \(not retried\)/);
    const [a] = await attemptsOf(db, d.task.id);
    assert.equal(a?.response_body, 'no such hook');
    assert.equal(rx.on('/bad').length, 1);
  });

  it('redelivers an execution as a new MANUAL execution with the same event id and body', async () => {
    const proj = await project(db, 'redeliver');
    const secret = 'redeliver-secret';
    const { targetIds } = await policy(db, { projectId: proj.id, name: 'redeliver' }, [{ address: `${rx.url}/again`, secret }]);
    const event = await push(db, proj, 'app', 'v1');
    const [d] = await finalTask(db, targetIds[0] ?? 0);
    assert.ok(d);
    const r = await w.wharf.engine.redeliver(d.exec.id);
    assert.notEqual(r.executionId, d.exec.id);
    const got = await rx.waitFor(2, 15_000, '/again');
    const [one, two] = got;
    assert.ok(one && two);
    assert.equal(header(two, 'webhook-id'), event.id);
    assert.equal(header(two, 'x-wharf-event-id'), event.id);
    assert.equal(header(two, 'x-wharf-delivery'), String(r.executionId));
    assert.equal(two.body.toString(), one.body.toString());
    const hdrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(two.headers)) if (typeof v === 'string') hdrs[k] = v;
    assert.doesNotThrow(() => new Webhook(new TextEncoder().encode(secret), { format: 'raw' }).verify(two.body, hdrs));
    const all = await finalTask(db, targetIds[0] ?? 0, 2);
    assert.deepEqual(all.map((x) => [x.exec.trigger, x.exec.status, x.exec.event_id]), [['EVENT', 'Success', event.id], ['MANUAL', 'Success', event.id]]);
    await assert.rejects(w.wharf.engine.redeliver(987654), /not found/);
  });

  it('filters by event type, repository and tag globs; system-wide policies see every project', async () => {
    const proj = await project(db, 'filt');
    const { targetIds: [projTarget] } = await policy(db, { projectId: proj.id, name: 'filtered', repoFilters: ['filt/app-*'], tagFilters: ['v*'] }, [{ address: `${rx.url}/filtered` }]);
    const { targetIds: [sysTarget] } = await policy(db, { projectId: null, name: 'system-filt', repoFilters: ['filt/**'] }, [{ address: `${rx.url}/system` }]);
    const events = [
      await push(db, proj, 'app-1', 'v1'), // both
      await push(db, proj, 'app-1', 'latest'), // system only (tag)
      await push(db, proj, 'other', 'v1'), // system only (repo)
      await push(db, proj, 'app-2', null), // system only (no tag)
      await push(db, proj, 'app-1', 'v2', 'PULL_ARTIFACT'), // nobody (event type)
    ];
    await until('all events dispatched', () => dispatched(db, events.map((e) => e.id)));
    const sys = await executionsOf(db, sysTarget ?? 0);
    assert.deepEqual(sys.map((e) => e.event_id), events.slice(0, 4).map((e) => e.id));
    const scoped = await executionsOf(db, projTarget ?? 0);
    assert.deepEqual(scoped.map((e) => e.event_id), [events[0]?.id]);
    await rx.waitFor(4, 15_000, '/system');
    await rx.waitFor(1, 15_000, '/filtered');
    await db.updateTable('webhook_policies').set({ enabled: 0 }).where('name', '=', 'system-filt').execute();
  });

  it('drops events while notification_enable is false', async () => {
    const proj = await project(db, 'switch');
    const { targetIds: [t] } = await policy(db, { projectId: proj.id, name: 'switch' }, [{ address: `${rx.url}/switch` }]);
    await db.insertInto('configurations').values({ key: 'notification_enable', value: 'false' }).execute();
    try {
      const e = await push(db, proj, 'app', 'v1');
      await until('dispatched', () => dispatched(db, [e.id]));
      assert.equal((await executionsOf(db, t ?? 0)).length, 0);
    } finally {
      await db.deleteFrom('configurations').where('key', '=', 'notification_enable').execute();
    }
    await push(db, proj, 'app', 'v2');
    await rx.waitFor(1, 15_000, '/switch');
    assert.equal(rx.on('/switch').length, 1, 'only the event sent after the switch came back on');
  });

  it('an outbox row with unreadable data is set aside and does not block the events after it', async () => {
    const proj = await project(db, 'corrupt');
    await policy(db, { projectId: proj.id, name: 'corrupt' }, [{ address: `${rx.url}/corrupt` }]);
    await db.insertInto('events').values({ id: 'corrupt-event', type: 'PUSH_ARTIFACT', occur_at: Date.now(), operator: '', project_id: proj.id, data: '{not json', dispatched_at: null }).execute();
    await push(db, proj, 'app', 'v1');
    await rx.waitFor(1, 15_000, '/corrupt');
    assert.ok(await dispatched(db, ['corrupt-event']), 'passed over');
    assert.equal((await db.selectFrom('webhook_executions').select('id').where('event_id', '=', 'corrupt-event').execute()).length, 0);
  });

  it('picks up a task whose lease expired (a worker that died mid-attempt)', async () => {
    const proj = await project(db, 'lease');
    const { policyId, targetIds: [t] } = await policy(db, { projectId: proj.id, name: 'lease' }, [{ address: `${rx.url}/lease` }]);
    const now = Date.now();
    const ex = await db
      .insertInto('webhook_executions')
      .values({ policy_id: policyId, target_id: t ?? 0, event_seq: 0, event_id: 'orphan-event', event_type: 'PUSH_ARTIFACT', vendor_type: 'WEBHOOK', status: 'Running', status_message: '', trigger: 'EVENT', payload: '{"orphan":true}', start_time: now, end_time: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('webhook_tasks')
      .values({ execution_id: ex.id, status: 'Running', status_message: '', run_count: 0, next_attempt_at: now - 60_000, lease_until: now - 1, lease_owner: 'worker-that-died', creation_time: now, start_time: now, update_time: now, end_time: null })
      .execute();
    const [got] = await rx.waitFor(1, 15_000, '/lease');
    assert.equal(got?.body.toString(), '{"orphan":true}');
    assert.equal(header(got ?? rx.requests[0]!, 'x-wharf-event-id'), 'orphan-event'); // waitFor resolved with one request
    const [d] = await finalTask(db, t ?? 0);
    assert.equal(d?.task.status, 'Success');
    assert.equal(d?.task.lease_owner, null);
  });

  it('prunes finished history by age and by count per policy, never unfinished deliveries', async () => {
    const proj = await project(db, 'prune');
    const { policyId, targetIds: [t] } = await policy(db, { projectId: proj.id, name: 'prune' }, [{ address: `${rx.url}/prune` }]);
    const day = 86_400_000;
    const now = Date.now();
    const maxAge = w.wharf.config.webhooks.history_max_age_days;
    let seq = 1_000_000; // fake event numbers: (event_seq, target) is unique for EVENT executions
    const insert = async (start: number, final: boolean) => {
      const ex = await db
        .insertInto('webhook_executions')
        .values({ policy_id: policyId, target_id: t ?? 0, event_seq: seq++, event_id: `prune-${start}-${String(final)}`, event_type: 'PUSH_ARTIFACT', vendor_type: 'WEBHOOK', status: final ? 'Success' : 'Running', status_message: '', trigger: 'EVENT', payload: '{}', start_time: start, end_time: final ? start : null })
        .returning('id')
        .executeTakeFirstOrThrow();
      // Unfinished ones are not due (far future), so the worker leaves them alone during the test.
      await db
        .insertInto('webhook_tasks')
        .values({ execution_id: ex.id, status: final ? 'Success' : 'Running', status_message: '', run_count: 1, next_attempt_at: final ? null : now + 365 * day, lease_until: null, lease_owner: null, creation_time: start, start_time: start, update_time: start, end_time: final ? start : null })
        .execute();
      return ex.id;
    };
    const oldDone = await insert(now - (maxAge + 1) * day, true);
    const oldOpen = await insert(now - (maxAge + 1) * day, false);
    const recent = await insert(now - day, true);
    assert.ok((await w.wharf.engine.worker.pruneHistory(now)) >= 1);
    const left = (await executionsOf(db, t ?? 0)).map((e) => e.id);
    assert.ok(!left.includes(oldDone), 'an old finished execution is pruned');
    assert.ok(left.includes(oldOpen), 'an unfinished one never is');
    assert.ok(left.includes(recent));
    assert.equal((await db.selectFrom('webhook_tasks').select('id').where('execution_id', '=', oldDone).execute()).length, 0, 'its task went with it');
    // By count: a Wharf keeping 2 per policy.
    const small = await startWharf({ overrides: { webhooks: { history_max_per_policy: 2 } } });
    try {
      const sdb = small.wharf.db.kysely;
      const sp = await project(sdb, 'prune');
      const { policyId: spId, targetIds: [st] } = await policy(sdb, { projectId: sp.id, name: 'prune' }, [{ address: `${rx.url}/prune` }]);
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const ex = await sdb
          .insertInto('webhook_executions')
          .values({ policy_id: spId, target_id: st ?? 0, event_seq: 1_000_000 + i, event_id: `c${i}`, event_type: 'PUSH_ARTIFACT', vendor_type: 'WEBHOOK', status: 'Success', status_message: '', trigger: 'EVENT', payload: '{}', start_time: now, end_time: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        ids.push(ex.id);
      }
      assert.equal(await small.wharf.engine.worker.pruneHistory(now), 3);
      assert.deepEqual((await executionsOf(sdb, st ?? 0)).map((e) => e.id), ids.slice(3));
    } finally {
      await small.close();
    }
  });

  it('a dead endpoint does not hold up a healthy one', async () => {
    const proj = await project(db, 'iso');
    rx.respond('/dead', { never: true });
    const perTarget = w.wharf.config.webhooks.per_target_concurrency;
    const { targetIds: [dead, healthy] } = await policy(db, { projectId: proj.id, name: 'iso' }, [
      { address: `${rx.url}/dead`, timeout_ms: 20_000 },
      { address: `${rx.url}/healthy` },
    ]);
    const n = 3 * perTarget;
    for (let i = 0; i < n; i++) await push(db, proj, 'app', `v${i}`);
    await rx.waitFor(n, 30_000, '/healthy');
    // Every healthy delivery arrived while the dead endpoint still held its first attempts: it
    // never got more than its own concurrency, and none of its attempts had finished.
    assert.ok(rx.on('/dead').length <= perTarget, `dead endpoint got ${rx.on('/dead').length} concurrent requests`);
    const deadAttempts = await db
      .selectFrom('webhook_attempts as a')
      .innerJoin('webhook_tasks as t', 't.id', 'a.task_id')
      .innerJoin('webhook_executions as e', 'e.id', 't.execution_id')
      .select('a.id')
      .where('e.target_id', '=', dead ?? 0)
      .execute();
    assert.equal(deadAttempts.length, 0);
    const ok = await finalTask(db, healthy ?? 0, n);
    assert.ok(ok.every((x) => x.task.status === 'Success'));
    // Stop the dead target so shutdown does not wait on it.
    await db.updateTable('webhook_targets').set({ enabled: 0 }).where('id', '=', dead ?? 0).execute();
  });
});

describe('auto-disable', () => {
  let w: TestWharf;
  let rx: Receiver;

  before(async () => {
    w = await startWharf({ overrides: { webhooks: { retry_schedule: [0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3], disable_after_seconds: 1 } } });
    rx = await startReceiver();
  });

  after(async () => {
    await rx.close();
    await w.close();
  });

  it('disables a target failing continuously, records WEBHOOK_TARGET_DISABLED and stops its deliveries', async () => {
    const db = w.wharf.db.kysely;
    const proj = await project(db, 'flaky');
    rx.respond('/down', { statuses: [500] });
    const { policyId, targetIds: [t] } = await policy(db, { projectId: proj.id, name: 'down' }, [{ address: `${rx.url}/down` }]);
    await push(db, proj, 'app', 'v1');
    await push(db, proj, 'app', 'v2');
    const target = await until('target disabled', async () => {
      const row = await db.selectFrom('webhook_targets').selectAll().where('id', '=', t ?? 0).executeTakeFirst();
      return row && row.enabled === 0 ? row : null;
    });
    assert.match(target.disabled_reason ?? '', /failing continuously since .*HTTP 500/);
    assert.notEqual(target.failing_since, null);
    const ev = await until('disable event', () =>
      db.selectFrom('events').selectAll().where('type', '=', 'WEBHOOK_TARGET_DISABLED').executeTakeFirst(),
    );
    const data = JSON.parse(ev.data) as { targetId: number; policyId: number; project: { name: string } | null; reason: string };
    assert.equal(data.targetId, t);
    assert.equal(data.policyId, policyId);
    assert.equal(data.project?.name, 'flaky');
    assert.equal(ev.project_id, proj.id);
    const all = await finalTask(db, t ?? 0, 2);
    for (const x of all) {
      assert.equal(x.task.status, 'Stopped', x.task.status_message);
      assert.equal(x.exec.status, 'Stopped');
      assert.equal(x.task.next_attempt_at, null);
    }
    const sent = rx.on('/down').length;
    // The operational event itself is not delivered to project policies.
    await until('disable event dispatched', () => dispatched(db, [ev.id]));
    assert.equal((await db.selectFrom('webhook_executions').select('id').where('event_id', '=', ev.id).execute()).length, 0);
    // Nothing more goes to the disabled target.
    await push(db, proj, 'app', 'v3');
    await until('v3 dispatched', () => allDispatched(db));
    assert.equal((await executionsOf(db, t ?? 0)).length, 2);
    assert.equal(rx.on('/down').length, sent);
  });
});

describe('SSRF policy in the engine', () => {
  let w: TestWharf;
  let rx: Receiver;

  before(async () => {
    w = await startWharf({ overrides: { webhooks: { allow_private_targets: false, retry_schedule: [0, 0.2] } } });
    rx = await startReceiver();
  });

  after(async () => {
    await rx.close();
    await w.close();
  });

  it('refuses loopback targets no system admin saved: the delivery fails at once, nothing is sent', async () => {
    const db = w.wharf.db.kysely;
    const proj = await project(db, 'ssrf');
    const { targetIds: [t] } = await policy(db, { projectId: proj.id, name: 'ssrf' }, [{ address: `${rx.url}/private`, options: { admin_trusted: false } }, { address: 'http://169.254.169.254/latest/meta-data/' }]);
    await push(db, proj, 'app', 'v1');
    const [d] = await finalTask(db, t ?? 0);
    assert.ok(d);
    assert.equal(d.task.status, 'Error');
    assert.equal(d.task.run_count, 1);
    assert.match(d.task.status_message, /blocked by the SSRF policy/);
    assert.equal(rx.requests.length, 0);
    const test = await w.wharf.engine.sendTest({ type: 'http', address: `${rx.url}/private`, payload_format: 'Default', options: '{}', auth_header: '', skip_cert_verify: 0, secret: '', headers: '{}', timeout_ms: null });
    assert.equal(test.verdict, 'fail');
    assert.match(test.error ?? '', /SSRF policy/);
    assert.equal(rx.requests.length, 0);
  });
});

/** Calls Wharf's Harbor API as admin. */
async function api(w: TestWharf, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; location: string }> {
  const r = await fetch(w.url + path, {
    method,
    headers: body === undefined ? { authorization: adminAuth } : { authorization: adminAuth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, text: await r.text(), location: r.headers.get('location') ?? '' };
}

/** The CloudEvents binary-mode headers of a request. */
function ceHeaders(r: ReceivedRequest): string[] {
  return Object.keys(r.headers).filter((k) => k.startsWith('ce-'));
}

/** Asserts a structured-mode CloudEvents request: its Content-Type, no ce-* header, the event in the body. */
function assertStructured(r: ReceivedRequest | undefined, eventId: string, what: string): void {
  assert.ok(r, what);
  assert.equal(header(r, 'content-type'), 'application/cloudevents+json', `${what}: structured Content-Type`);
  assert.deepEqual(ceHeaders(r), [], `${what}: no binary-mode ce-* headers`);
  const body = jsonBody(r);
  assert.ok(typeof body === 'object' && body !== null && 'specversion' in body && 'id' in body, `${what}: a structured body`);
  assert.equal(body.id, eventId);
}

/** The Content-Type recorded in an attempt row's request headers (any case). */
function recordedContentType(requestHeaders: string): string | undefined {
  const h: unknown = JSON.parse(requestHeaders);
  if (typeof h !== 'object' || h === null) return undefined;
  const hit = Object.entries(h).find(([k]) => k.toLowerCase() === 'content-type');
  return typeof hit?.[1] === 'string' ? hit[1] : undefined;
}

describe('format headers are stored with the execution', () => {
  let w: TestWharf;
  let rx: Receiver;
  let db: Kdb;
  const schedule = { retry_schedule: [0, 2, 2], timeout_ms: 2000 };

  before(async () => {
    w = await startWharf({ overrides: { webhooks: schedule } });
    rx = await startReceiver();
    db = w.wharf.db.kysely;
  });

  after(async () => {
    await rx.close();
    await w.close();
  });

  it('a retry and a redelivery after the target switched to binary mode (API) still send the structured body with structured headers', async () => {
    const base = '/api/v2.0/projects/library/webhook';
    rx.respond('/ce', { statuses: [500, 200] });
    const spec = (mode?: string) => ({
      name: 'ce-switch',
      description: '',
      enabled: true,
      event_types: ['PUSH_ARTIFACT'],
      targets: [{ type: 'http', address: `${rx.url}/ce`, skip_cert_verify: false, payload_format: 'CloudEvents', ...(mode ? { cloudevents_mode: mode } : {}) }],
    });
    const created = await api(w, 'POST', `${base}/policies`, spec());
    assert.equal(created.status, 201, created.text);
    const policyId = Number(/\/(\d+)$/.exec(created.location)?.[1]);
    const before = await db.selectFrom('webhook_targets').select(['id', 'options']).where('policy_id', '=', policyId).executeTakeFirstOrThrow();
    const lib = await project(db, 'library');
    const event = await push(db, lib, 'app', 'v1');

    const [first] = await rx.waitFor(1, 15_000, '/ce');
    assertStructured(first, event.id, 'attempt 1');

    const put = await api(w, 'PUT', `${base}/policies/${policyId}`, spec('binary'));
    assert.equal(put.status, 200, put.text);
    const t = await db.selectFrom('webhook_targets').selectAll().where('policy_id', '=', policyId).executeTakeFirstOrThrow();
    assert.equal(t.id, before.id, 'the target is updated in place: the pending retry is still its delivery');
    assert.match(t.options, /"cloudevents_mode":"binary"/);
    assert.equal(rx.on('/ce').length, 1, 'the switch happened before the retry');

    const second = (await rx.waitFor(2, 15_000, '/ce'))[1];
    assertStructured(second, event.id, 'the retry after the switch');
    assert.equal(second?.body.toString(), first?.body.toString(), 'the retry sends the identical body');
    const [d] = await finalTask(db, t.id);
    assert.ok(d);
    assert.equal(d.task.status, 'Success');
    assert.equal(d.task.run_count, 2);
    const attempts = await attemptsOf(db, d.task.id);
    assert.deepEqual(attempts.map((a) => recordedContentType(a.request_headers)), ['application/cloudevents+json', 'application/cloudevents+json'], 'the attempt log records the headers sent');

    const re = await api(w, 'POST', `${base}/policies/${policyId}/executions/${d.exec.id}/redeliver`);
    assert.equal(re.status, 201, re.text);
    const third = (await rx.waitFor(3, 15_000, '/ce'))[2];
    assertStructured(third, event.id, 'the redelivery after the switch');
    assert.equal(third?.body.toString(), first?.body.toString(), 'the redelivery sends the identical body');
    const copies = await executionsOf(db, t.id);
    assert.deepEqual(copies.map((e) => e.trigger), ['EVENT', 'MANUAL']);
    assert.equal(copies[1]?.headers, copies[0]?.headers, 'the redelivery copies the stored headers');

    // The switch did take effect for new events: they are rendered in binary mode.
    const next = await push(db, lib, 'app', 'v2');
    const fourth = (await rx.waitFor(4, 15_000, '/ce'))[3];
    assert.ok(fourth);
    assert.equal(header(fourth, 'ce-id'), next.id);
    assert.notEqual(header(fourth, 'content-type'), 'application/cloudevents+json');
  });

  it('an execution written before headers were stored (NULL) gets them rendered again, as before', async () => {
    const proj = await project(db, 'old-rows');
    rx.respond('/old', { statuses: [200] });
    const { policyId, targetIds: [t] } = await policy(db, { projectId: proj.id, name: 'old-rows' }, [{ address: `${rx.url}/old`, payload_format: 'CloudEvents', options: { cloudevents_mode: 'binary' } }]);
    const target = await db.selectFrom('webhook_targets').selectAll().where('id', '=', t ?? 0).executeTakeFirstOrThrow();
    const now = Date.now();
    const event: WharfEvent = {
      type: 'PUSH_ARTIFACT',
      id: 'old-row-event',
      occurAt: now,
      operator: 'admin',
      project: proj,
      repository: { id: 1, name: `${proj.name}/app`, creationTime: now },
      artifact: { digest: `sha256:${'d'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, tag: 'v1', tags: ['v1'], artifactType: null },
    };
    // Already dispatched: the dispatcher leaves it alone; the rows below stand for ones written before migration 0006.
    const ev = await db
      .insertInto('events')
      .values({ id: event.id, type: event.type, occur_at: now, operator: 'admin', project_id: proj.id, data: JSON.stringify(event), dispatched_at: now })
      .returning('seq')
      .executeTakeFirstOrThrow();
    const rendered = formatterFor('http', 'CloudEvents')(event, formatContext(w.wharf.config.external_url, { id: policyId, name: 'old-rows', project_id: proj.id }, target));
    for (const payload of [rendered.body, '{"rendered":"differently"}']) {
      const ex = await db
        .insertInto('webhook_executions')
        .values({ policy_id: policyId, target_id: target.id, event_seq: ev.seq, event_id: event.id, event_type: event.type, vendor_type: 'WEBHOOK', status: 'Running', status_message: '', trigger: 'MANUAL', payload, headers: null, start_time: now, end_time: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db
        .insertInto('webhook_tasks')
        .values({ execution_id: ex.id, status: 'Pending', status_message: '', run_count: 0, next_attempt_at: now, lease_until: null, lease_owner: null, creation_time: now, start_time: null, update_time: now, end_time: null })
        .execute();
    }
    const got = await rx.waitFor(2, 15_000, '/old');
    const same = got.find((r) => r.body.toString() === rendered.body);
    const other = got.find((r) => r.body.toString() !== rendered.body);
    assert.ok(same && other);
    assert.equal(header(same, 'ce-id'), event.id, 'rendering again gives the stored body: its headers are used');
    assert.equal(header(same, 'content-type'), rendered.headers['Content-Type']);
    assert.deepEqual(ceHeaders(other), [], 'rendering again gives another body: no format headers but Content-Type');
    assert.equal(header(other, 'content-type'), 'application/json');
  });

  it('after a restart (another external_url, the target switched to binary meanwhile) a pending retry still sends the stored headers', async () => {
    const dataDir = tempDataDir();
    const rx2 = await startReceiver();
    const opts = (externalUrl: string) => ({ dataDir, overrides: { external_url: externalUrl, webhooks: schedule } });
    const w1 = await startWharf(opts('http://before.example'));
    let w1open = true;
    let w2: TestWharf | undefined;
    try {
      const db1 = w1.wharf.db.kysely;
      rx2.respond('/r', { statuses: [500, 200] });
      const proj = await project(db1, 'restart');
      const { targetIds: [t] } = await policy(db1, { projectId: proj.id, name: 'restart' }, [{ address: `${rx2.url}/r`, payload_format: 'CloudEvents' }]);
      const event = await push(db1, proj, 'app', 'v1');
      const [first] = await rx2.waitFor(1, 15_000, '/r');
      assertStructured(first, event.id, 'attempt 1');
      await until('attempt 1 recorded', async () => {
        const k = await db1.selectFrom('webhook_tasks as k').innerJoin('webhook_executions as e', 'e.id', 'k.execution_id').select('k.run_count').where('e.target_id', '=', t ?? 0).executeTakeFirst();
        return k?.run_count === 1;
      });
      await db1.updateTable('webhook_targets').set({ options: '{"cloudevents_mode":"binary","admin_trusted":true}' }).where('id', '=', t ?? 0).execute();
      await w1.close({ keepData: true });
      w1open = false;
      assert.equal(rx2.on('/r').length, 1, 'the retry is still pending at the restart');

      w2 = await startWharf(opts('http://after.example'));
      const second = (await rx2.waitFor(2, 15_000, '/r'))[1];
      assertStructured(second, event.id, 'the retry after the restart');
      assert.equal(second?.body.toString(), first?.body.toString(), 'the identical body');
      assert.match(second?.body.toString() ?? '', /before\.example/, 'rendered before the restart, with the external_url of then');
      const [d] = await finalTask(w2.wharf.db.kysely, t ?? 0);
      assert.equal(d?.task.status, 'Success');
    } finally {
      if (w2) await w2.close();
      else if (w1open) await w1.close();
      else {
        rmSync(dataDir, { recursive: true, force: true });
        await dropDatabaseOf(dataDir);
      }
      await rx2.close();
    }
  });
});

describe('crash safety', () => {
  it('a delivery interrupted by kill -9 is attempted again after a restart (same event id)', async () => {
    const dataDir = tempDataDir();
    const rx = await startReceiver();
    let child = await spawnWharf({ dataDir, env: { WHARF_LOG_LEVEL: 'warn' } });
    try {
      const handle = await openDataDirDatabase(dataDir);
      try {
        const db = handle.kysely;
        const proj = await project(db, 'crash');
        rx.respond('/crash', { never: true });
        await policy(db, { projectId: proj.id, name: 'crash' }, [{ address: `${rx.url}/crash`, timeout_ms: 1000 }]);
        const event = await push(db, proj, 'app', 'v1');
        const [first] = await rx.waitFor(1, 15_000, '/crash');
        await child.kill9(); // mid-attempt: the receiver has the request, Wharf recorded nothing yet
        rx.respond('/crash', { statuses: [200] });
        const task = await db.selectFrom('webhook_tasks').selectAll().executeTakeFirstOrThrow();
        assert.equal(task.run_count, 0, 'the interrupted attempt was never recorded');
        assert.notEqual(task.lease_owner, null);
        child = await spawnWharf({ dataDir, env: { WHARF_LOG_LEVEL: 'warn' } });
        const got = await rx.waitFor(2, 30_000, '/crash');
        assert.equal(header(got[1] ?? got[0]!, 'x-wharf-event-id'), event.id); // waitFor resolved with 2
        assert.equal(header(first!, 'x-wharf-event-id'), event.id); // waitFor resolved with 1
        const done = await until('task Success', async () => {
          const t = await db.selectFrom('webhook_tasks').selectAll().where('id', '=', task.id).executeTakeFirst();
          return t?.status === 'Success' ? t : null;
        });
        assert.equal(done.run_count, 1);
      } finally {
        await handle.close();
      }
    } finally {
      await child.stop();
      await rx.close();
      rmSync(dataDir, { recursive: true, force: true });
      await dropDatabaseOf(dataDir);
    }
  });
});
