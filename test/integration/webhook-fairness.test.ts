/**
 * Fair delivery capacity (issue 8, item 4), over real HTTP: policies created through the Harbor
 * API, images pushed through /v2, deliveries received by real node:http receivers on 127.0.0.1.
 *
 * Project A has one policy with 17 targets whose receiver accepts every request and holds it
 * unanswered until the test releases it, and gets 80 pushes (1,360 deliveries). Project B has one
 * healthy target. Every one of B's deliveries must arrive while all of A's requests are still held,
 * so A can only have taken its own share of the delivery slots. The caps are lowered so that the
 * scenario is small: before per-project caps, A's 17 targets x 4 filled all 32 slots and B waited
 * for A's 120 s timeouts (the test's own timeout fails it first).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { api, createPolicy, eventually, explain, pushTaggedImages } from '../helpers/webhook-client.ts';

const perTarget = 4;
const perProject = 16;
const maxInFlight = 32;
const stuckTargets = 17;
const pushesA = 80;
const pushesB = 20;

async function createProject(base: string, name: string): Promise<void> {
  const a = await api(base, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: name, metadata: { public: 'false' } } });
  assert.equal(a.status, 201, explain('POST', '/api/v2.0/projects', a));
}

describe('fair delivery between projects', () => {
  let w: TestWharf;
  let stuck: Receiver;
  let healthy: Receiver;

  before(async () => {
    w = await startWharf({
      overrides: {
        webhooks: { timeout_ms: 120_000, per_target_concurrency: perTarget, per_project_concurrency: perProject, max_in_flight: maxInFlight },
      },
    });
    stuck = await startReceiver();
    healthy = await startReceiver();
  });

  after(async () => {
    await stuck.close();
    await healthy.close();
    await w.close();
  });

  it('a project whose 17 targets never answer cannot delay another project; its own deliveries complete once released', { timeout: 90_000 }, async () => {
    const db = w.wharf.db.kysely;
    await createProject(w.url, 'slowpoke');
    await createProject(w.url, 'bystander');
    const stuckPaths = Array.from({ length: stuckTargets }, (_, i) => `/a/${i}`);
    for (const p of stuckPaths) stuck.respond(p, { hold: true });
    const policyA = await createPolicy(w.url, adminAuth, '/api/v2.0/projects/slowpoke', {
      name: 'hangs',
      event_types: ['PUSH_ARTIFACT'],
      targets: stuckPaths.map((p) => ({ type: 'http', address: `${stuck.url}${p}`, payload_format: 'Default' })),
    });
    const policyB = await createPolicy(w.url, adminAuth, '/api/v2.0/projects/bystander', {
      name: 'healthy',
      event_types: ['PUSH_ARTIFACT'],
      targets: [{ type: 'http', address: `${healthy.url}/b`, payload_format: 'Default' }],
    });

    await pushTaggedImages(w.url, 'slowpoke/app', pushesA, adminAuth);
    // A has taken its whole share: every slot it may hold is held by the stuck receiver.
    await stuck.waitFor(perProject, 60_000);

    await pushTaggedImages(w.url, 'bystander/app', pushesB, adminAuth);
    await healthy.waitFor(pushesB, 60_000, '/b');

    // All of B arrived while every request A's targets got is still held, unanswered.
    assert.equal(stuck.heldCount, stuck.requests.length, 'a stuck request was answered or dropped');
    assert.ok(stuck.requests.length <= perProject, `project A held ${stuck.requests.length} slots, more than its ${perProject}`);
    for (const p of stuckPaths) assert.ok(stuck.on(p).length <= perTarget, `target ${p} held ${stuck.on(p).length} slots`);
    const attemptsA = await db
      .selectFrom('webhook_attempts as a')
      .innerJoin('webhook_tasks as t', 't.id', 'a.task_id')
      .innerJoin('webhook_executions as e', 'e.id', 't.execution_id')
      .select('a.id')
      .where('e.policy_id', '=', policyA)
      .execute();
    assert.equal(attemptsA.length, 0, 'an attempt of project A finished before the release');
    // B's history, as the API shows it, is complete and successful.
    const execsB = await eventually(async () => {
      const a = await api(w.url, 'GET', `/api/v2.0/projects/bystander/webhook/policies/${policyB}/executions?page_size=100`, { auth: adminAuth });
      assert.equal(a.status, 200, explain('GET', 'executions', a));
      const list = a.json as Array<{ status: string }>;
      return list.length === pushesB && list.every((e) => e.status === 'Success') ? list : null;
    });
    assert.equal(execsB.length, pushesB);

    for (const p of stuckPaths) stuck.release(p); // answers the held requests, and later ones at once
    const total = stuckTargets * pushesA;
    await eventually(async () => {
      const r = await db
        .selectFrom('webhook_executions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('policy_id', '=', policyA)
        .where('status', '=', 'Success')
        .executeTakeFirstOrThrow();
      return Number(r.n) === total;
    });
    assert.equal(stuck.requests.length, total, 'each delivery of A was sent once');
  });
});
