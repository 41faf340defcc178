import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onPostgres, openTestDatabase } from '../../test/helpers/db.ts';
import { webhookDeliveryStore as store, type NewEventExecution } from './webhook-delivery-store.ts';
import { outboxStore } from './outbox-store.ts';

/**
 * A stored body with characters that need care: NUL on SQLite; PostgreSQL's text cannot hold NUL
 * (rendered payloads are JSON, which escapes it), so there a line separator and an astral character.
 */
const oddBody = (id: number) => (onPostgres ? `body-${id}\u2028\u{1F433}end` : `body-${id}\u0000end`);

/** Nothing at its cap. */
const none = { targets: [], projects: [] };

async function fixture() {
  const db = await openTestDatabase();
  const k = db.kysely;
  const policy = await k
    .insertInto('webhook_policies')
    .values({ project_id: null, name: 'p', description: '', enabled: 1, event_types: '["PUSH_ARTIFACT"]', repo_filters: '[]', tag_filters: '[]', creator: '', creation_time: 1, update_time: 1 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const targets: number[] = [];
  for (let i = 0; i < 2; i++) {
    const t = await k
      .insertInto('webhook_targets')
      .values({ policy_id: policy.id, position: i, type: 'http', address: `http://127.0.0.1:9/${i}`, payload_format: 'Default', options: '{}', auth_header: '', skip_cert_verify: 0, secret: '', headers: '{}', timeout_ms: i === 0 ? null : 2000, enabled: 1, failing_since: 5, disabled_reason: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    targets.push(t.id);
  }
  const event = await k
    .insertInto('events')
    .values({ id: 'ev-1', type: 'PUSH_ARTIFACT', occur_at: 1, operator: 'admin', project_id: null, data: '{}', dispatched_at: null })
    .returning('seq')
    .executeTakeFirstOrThrow();
  const execs: NewEventExecution[] = targets.map((target_id) => ({
    policy_id: policy.id,
    target_id,
    event_seq: event.seq,
    event_id: 'ev-1',
    event_type: 'PUSH_ARTIFACT',
    vendor_type: 'WEBHOOK',
    status: 'Running',
    status_message: '',
    payload: oddBody(target_id),
    headers: JSON.stringify({ 'content-type': `application/x-${target_id}` }),
    start_time: 10,
    end_time: null,
  }));
  return { db, k, targets, execs, eventSeq: event.seq };
}

test('executions of an event are inserted once per target; a re-run creates none', async () => {
  const { db, k, targets, execs } = await fixture();
  try {
    const created = await store.insertEventExecutions(k, execs);
    assert.deepEqual(created.map((c) => c.target_id).sort(), [...targets].sort());
    const again = await store.insertEventExecutions(k, execs);
    assert.equal(again.length, 0, 'the unique (event, target) index skips existing executions');
    const rows = await k.selectFrom('webhook_executions').select(['target_id', 'payload', 'headers', 'trigger']).orderBy('id').execute();
    assert.equal(rows.length, 2);
    assert.equal(rows[0]?.payload, oddBody(targets[0] ?? 0), 'bodies are stored byte for byte');
    assert.deepEqual(rows.map((r) => r.headers), targets.map((t) => `{"content-type":"application/x-${t}"}`), 'format headers are stored with their body');
    assert.equal(rows[0]?.trigger, 'EVENT');
  } finally {
    await db.close();
  }
});

test('a lease is granted once; loading returns task, execution, target and policy; outcomes release it', async () => {
  const { db, k, targets, execs, eventSeq } = await fixture();
  try {
    const ids = new Map((await store.insertEventExecutions(k, execs)).map((c) => [c.target_id, c.id]));
    const execIds = targets.map((t) => ids.get(t) ?? -1);
    await store.insertTasks(
      k,
      execIds.map((execution_id) => ({ execution_id, status: 'Pending', status_message: '', next_attempt_at: 100, creation_time: 50, end_time: null })),
    );
    assert.deepEqual(await store.dueCandidates(k, 99, none, 10), [], 'nothing is due before next_attempt_at');
    const due = await store.dueCandidates(k, 100, none, 10);
    assert.deepEqual(due.map((d) => d.target_id), targets);
    assert.deepEqual(due.map((d) => d.timeout_ms), [null, 2000]);
    assert.deepEqual(due.map((d) => d.project_key), [0, 0], 'a system-wide policy counts as project 0');
    assert.deepEqual((await store.dueCandidates(k, 100, { targets: [targets[0] ?? -1], projects: [] }, 10)).map((d) => d.target_id), [targets[1]], 'excluded targets are left out');
    assert.deepEqual(await store.dueCandidates(k, 100, { targets: [], projects: [0] }, 10), [], 'excluded projects are left out');

    const requests = due.map((d) => ({ taskId: d.task_id, leaseUntil: 1000 }));
    assert.deepEqual((await store.lease(k, 'w1', 100, requests)).sort(), due.map((d) => d.task_id).sort());
    assert.deepEqual(await store.lease(k, 'w2', 200, requests), [], 'a live lease is never granted twice');
    assert.deepEqual(await store.dueCandidates(k, 200, none, 10), []);
    assert.equal((await store.lease(k, 'w2', 1001, requests.slice(0, 1))).length, 1, 'an expired lease can be taken over');
    assert.equal(await store.nextDue(k, 1001), 100, 'the second task, whose lease expired at 1000, is due again');

    const loaded = await store.loadClaimed(k, due.map((d) => d.task_id));
    assert.equal(loaded.length, 2);
    assert.equal(loaded[0]?.exec.payload, oddBody(targets[0] ?? 0));
    assert.equal(loaded[0]?.exec.headers, `{"content-type":"application/x-${targets[0]}"}`, 'the claim loads the stored format headers');
    assert.equal(loaded[0]?.target.id, targets[0]);
    assert.equal(loaded[0]?.policy.name, 'p');
    assert.deepEqual((await outboxStore.eventsBySeq(k, [eventSeq])).map((e) => e.id), ['ev-1']);
    assert.deepEqual([...(await store.existingTasks(k, [...due.map((d) => d.task_id), 999_999]))].sort(), due.map((d) => d.task_id).sort(), 'a task that is gone is left out');
    assert.equal((await k.selectFrom('webhook_tasks').select('lease_owner').where('id', '=', due[0]?.task_id ?? -1).executeTakeFirstOrThrow()).lease_owner, 'w2');
    assert.equal(loaded[0]?.target.timeout_ms, null);
    assert.equal(loaded[1]?.target.timeout_ms, 2000);

    await store.markRunning(k, 'w2', 1002, due.map((d) => d.task_id));
    const statuses = await k.selectFrom('webhook_tasks').select(['status', 'start_time']).orderBy('id').execute();
    assert.deepEqual(statuses, [{ status: 'Running', start_time: 1002 }, { status: 'Pending', start_time: null }], 'only the owner\'s tasks start');

    const first = loaded[0];
    assert.ok(first);
    await store.insertAttempts(k, [{ task_id: first.task.id, attempt: 1, started_at: 1002, duration_ms: 3, url: 'u', request_headers: '{}', request_body: 'b', response_status: 200, response_headers: '{}', response_body: 'ok\u0000', error: null }]);
    await store.updateTasks(k, [{ id: first.task.id, status: 'Success', status_message: '', run_count: 1, next_attempt_at: null, update_time: 1005, end_time: 1005 }]);
    await store.updateExecutions(k, [{ id: first.exec.id, status: 'Success', status_message: '', end_time: 1005 }]);
    await store.clearFailing(k, [first.target.id]);
    const task = await k.selectFrom('webhook_tasks').selectAll().where('id', '=', first.task.id).executeTakeFirstOrThrow();
    assert.equal(task.status, 'Success');
    assert.equal(task.lease_owner, null);
    assert.equal(task.lease_until, null);
    assert.equal(task.run_count, 1);
    const attempt = await k.selectFrom('webhook_attempts').select('response_body').executeTakeFirstOrThrow();
    // A receiver's NUL is stored as is on SQLite, as U+FFFD on PostgreSQL (its text has no NUL).
    assert.equal(attempt.response_body, onPostgres ? 'ok\uFFFD' : 'ok\u0000');
    const health = await k.selectFrom('webhook_targets').select(['id', 'failing_since']).orderBy('id').execute();
    assert.deepEqual(health.map((h) => h.failing_since), [null, 5], 'only targets that answered are cleared');
  } finally {
    await db.close();
  }
});

test('the batch INSERT stores the format headers of each execution; a row without them (written before 0006) loads with null', async () => {
  const { db, k, targets, execs } = await fixture();
  try {
    const [a, b] = execs;
    assert.ok(a && b);
    const created = await store.insertEventExecutions(k, [a, { ...b, headers: null }]);
    assert.equal(created.length, 2);
    await store.insertTasks(k, created.map((c) => ({ execution_id: c.id, status: 'Pending', status_message: '', next_attempt_at: 1, creation_time: 1, end_time: null })));
    const tasks = await k.selectFrom('webhook_tasks').select('id').orderBy('id').execute();
    const loaded = await store.loadClaimed(k, tasks.map((t) => t.id));
    assert.deepEqual(
      loaded.map((l) => [l.target.id, l.exec.headers]),
      [
        [targets[0], `{"content-type":"application/x-${targets[0]}"}`],
        [targets[1], null],
      ],
    );
  } finally {
    await db.close();
  }
});

test('the claim scan skips a capped project\'s backlog at the head of the queue and finds the work behind it', async () => {
  const { db, k, execs } = await fixture();
  try {
    const project = await k
      .insertInto('projects')
      .values({ name: 'busy', public: 0, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: 1, update_time: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    // The fixture's policy is system-wide (project key 0); move it into `busy`, then add a system-wide one.
    await k.updateTable('webhook_policies').set({ project_id: project.id }).execute();
    const system = await k
      .insertInto('webhook_policies')
      .values({ project_id: null, name: 'sys', description: '', enabled: 1, event_types: '["PUSH_ARTIFACT"]', repo_filters: '[]', tag_filters: '[]', creator: '', creation_time: 1, update_time: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    const sysTarget = await k
      .insertInto('webhook_targets')
      .values({ policy_id: system.id, position: 0, type: 'http', address: 'http://127.0.0.1:9/sys', payload_format: 'Default', options: '{}', auth_header: '', skip_cert_verify: 0, secret: '', headers: '{}', timeout_ms: null, enabled: 1, failing_since: null, disabled_reason: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    const [first] = execs;
    assert.ok(first);
    const created = await store.insertEventExecutions(k, [...execs, { ...first, policy_id: system.id, target_id: sysTarget.id }]);
    const busyExecs = created.filter((c) => c.target_id !== sysTarget.id).map((c) => c.id);
    const sysExec = created.find((c) => c.target_id === sysTarget.id)?.id ?? -1;
    // Forty due tasks of `busy`, all older than the system-wide one.
    const backlog = Array.from({ length: 40 }, (_, i) => ({ execution_id: busyExecs[i % busyExecs.length] ?? -1, status: 'Pending', status_message: '', next_attempt_at: 10 + i, creation_time: 1, end_time: null }));
    await store.insertTasks(k, [...backlog, { execution_id: sysExec, status: 'Pending', status_message: '', next_attempt_at: 100, creation_time: 1, end_time: null }]);

    const head = await store.dueCandidates(k, 100, none, 1);
    assert.deepEqual(head.map((d) => d.project_key), [project.id], 'uncapped, the oldest task comes first');
    const behind = await store.dueCandidates(k, 100, { targets: [], projects: [project.id] }, 1);
    assert.deepEqual(behind.map((d) => [d.target_id, d.project_key]), [[sysTarget.id, 0]], 'with `busy` at its cap, its backlog is skipped');
  } finally {
    await db.close();
  }
});

test('a scan resumed after a mark reads only tasks due after it or newer than it, once each, oldest first', async () => {
  const { db, k, execs } = await fixture();
  try {
    const created = await store.insertEventExecutions(k, execs);
    const exec = created[0]?.id ?? -1;
    const task = (next_attempt_at: number) => ({ execution_id: exec, status: 'Pending', status_message: '', next_attempt_at, creation_time: 1, end_time: null });
    // Seen by the earlier scan: due at 10..14.
    await store.insertTasks(k, [10, 11, 12, 13, 14].map(task));
    const mark = { at: 50, maxId: await store.maxTaskId(k) };
    // After it: one due later than the mark (60), one committed later but due earlier (20), one due both later and newer (70).
    await store.insertTasks(k, [60, 20, 70].map(task));
    const all = await store.dueCandidates(k, 100, none, 100);
    assert.equal(all.length, 8, 'a full scan reads everything due');
    const resumed = await store.dueCandidates(k, 100, none, 100, mark);
    const at = new Map(all.map((c) => [c.task_id, c]));
    assert.deepEqual(
      resumed.map((c) => c.task_id),
      all.filter((c) => c.task_id > mark.maxId).map((c) => c.task_id),
      'only the three tasks after the mark, in due order (20, 60, 70), each once',
    );
    assert.equal(resumed.length, 3);
    assert.ok(resumed.every((c) => at.has(c.task_id)));
    assert.deepEqual(await store.dueCandidates(k, 100, none, 100, { at: 100, maxId: await store.maxTaskId(k) }), [], 'nothing after a mark at the end');
    assert.deepEqual((await store.dueCandidates(k, 65, none, 100, mark)).length, 2, 'not yet due: 70 waits');
  } finally {
    await db.close();
  }
});
