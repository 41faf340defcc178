/**
 * Deleting a webhook policy (or removing a target from it) while its deliveries are in flight and
 * pending (issue 8, item 10): the deliveries end quietly. Their history goes with the policy or
 * target, as the API documents, so the results of attempts that were in flight are dropped, nothing
 * is sent for what was pending, and the log (the test server's real pino output, captured) has no
 * warning or error about it. Over real HTTP: policies through the Harbor API, pushes through /v2, a
 * real receiver that holds the requests until the test releases them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { api, createPolicy, eventually, explain, pushTaggedImages } from '../helpers/webhook-client.ts';

/** One pino line as written. */
interface LogLine {
  level: number;
  msg?: string;
  [key: string]: unknown;
}

/** pino's level numbers. */
const warnLevel = 40;

const perTarget = 8;

describe('deleting webhook policies and targets with deliveries in flight', () => {
  let w: TestWharf;
  let rx: Receiver;
  const log: LogLine[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.trim() === '') continue;
          const parsed: unknown = JSON.parse(line);
          if (typeof parsed === 'object' && parsed !== null && 'level' in parsed && typeof parsed.level === 'number') log.push({ ...parsed, level: parsed.level });
        }
        done();
      },
    });
    w = await startWharf({
      logger: pino({ level: 'debug' }, sink),
      overrides: { webhooks: { timeout_ms: 60_000, per_target_concurrency: perTarget, retry_schedule: [0, 0.2, 0.2] } },
    });
    rx = await startReceiver();
    const p = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'doomed', metadata: { public: 'false' } } });
    assert.equal(p.status, 201, explain('POST', '/api/v2.0/projects', p));
  });

  after(async () => {
    await rx.close();
    await w.close();
  });

  /** Warnings and errors logged since `from`. */
  const complaints = (from: number) => log.slice(from).filter((l) => l.level >= warnLevel);

  /** Waits until the worker has no attempt in flight (the released ones have been recorded or dropped). */
  async function settled(): Promise<void> {
    await eventually(async () => w.wharf.engine.worker.inFlightCount === 0);
  }

  it('DELETE of a policy whose deliveries are in flight and pending: they are dropped, with no warning or error in the log', { timeout: 60_000 }, async () => {
    const db = w.wharf.db.kysely;
    const from = log.length;
    const paths = ['/del/ok-0', '/del/ok-1', '/del/fail-0', '/del/fail-1'];
    // Held requests are answered on release: two targets with 200 (recorded as successes), two with 503 (retried).
    for (const p of paths) rx.respond(p, { hold: true, statuses: [p.includes('fail') ? 503 : 200] });
    const policyId = await createPolicy(w.url, adminAuth, '/api/v2.0/projects/doomed', {
      name: 'doomed',
      event_types: ['PUSH_ARTIFACT'],
      targets: paths.map((p) => ({ type: 'http', address: `${rx.url}${p}`, payload_format: 'Default' })),
    });
    await pushTaggedImages(w.url, 'doomed/app', 50, adminAuth);
    // Every target holds its full share in flight; the rest (200 - 32) is pending.
    await rx.waitFor(paths.length * perTarget, 30_000);
    const execs = await eventually(async () => {
      const rows = await db.selectFrom('webhook_executions').select('end_time').where('policy_id', '=', policyId).execute();
      return rows.length === 50 * paths.length ? rows : null;
    });
    assert.ok(execs.every((e) => e.end_time === null), 'every delivery is in flight or pending');

    const path = `/api/v2.0/projects/doomed/webhook/policies/${policyId}`;
    const del = await api(w.url, 'DELETE', path, { auth: adminAuth });
    assert.equal(del.status, 200, explain('DELETE', path, del));
    for (const p of paths) rx.release(p);
    await settled();

    const sent = rx.requests.filter((r) => r.path.startsWith('/del/')).length;
    assert.equal(sent, paths.length * perTarget, 'nothing pending was sent after the delete, nothing was retried');
    const left = await db.selectFrom('webhook_executions').select('id').where('policy_id', '=', policyId).execute();
    assert.deepEqual(left, [], 'the history went with the policy');
    const orphans = await db.selectFrom('webhook_attempts').select('id').where('task_id', 'not in', db.selectFrom('webhook_tasks').select('id')).execute();
    assert.deepEqual(orphans, [], 'no attempt was recorded for a deleted delivery');
    const history = await api(w.url, 'GET', `${path}/executions`, { auth: adminAuth });
    assert.equal(history.status, 404, explain('GET', `${path}/executions`, history));
    assert.deepEqual(complaints(from), [], 'the log has no warning or error');
  });

  it('PUT that removes a target whose deliveries are in flight: the removed target\'s deliveries are dropped quietly, the kept one delivers', { timeout: 60_000 }, async () => {
    const db = w.wharf.db.kysely;
    const from = log.length;
    rx.respond('/put/removed', { hold: true });
    const policyId = await createPolicy(w.url, adminAuth, '/api/v2.0/projects/doomed', {
      name: 'trimmed',
      event_types: ['PUSH_ARTIFACT'],
      targets: [
        { type: 'http', address: `${rx.url}/put/kept`, payload_format: 'Default' },
        { type: 'http', address: `${rx.url}/put/removed`, payload_format: 'Default' },
      ],
    });
    await pushTaggedImages(w.url, 'doomed/trim', 20, adminAuth);
    await rx.waitFor(perTarget, 30_000, '/put/removed');
    await rx.waitFor(20, 30_000, '/put/kept');

    const path = `/api/v2.0/projects/doomed/webhook/policies/${policyId}`;
    const got = await api(w.url, 'GET', path, { auth: adminAuth });
    assert.equal(got.status, 200, explain('GET', path, got));
    const current = got.json as { targets: Array<{ address: string }> };
    const put = await api(w.url, 'PUT', path, { auth: adminAuth, body: { ...current, targets: current.targets.filter((t) => t.address.endsWith('/put/kept')) } });
    assert.equal(put.status, 200, explain('PUT', path, put));
    rx.release('/put/removed');
    await settled();

    assert.equal(rx.on('/put/removed').length, perTarget, 'nothing pending was sent to the removed target');
    const execs = await db.selectFrom('webhook_executions').select(['status']).where('policy_id', '=', policyId).execute();
    assert.equal(execs.length, 20, 'only the kept target\'s history remains');
    assert.ok(execs.every((e) => e.status === 'Success'));
    assert.deepEqual(complaints(from), [], 'the log has no warning or error');
  });
});
