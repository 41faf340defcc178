/**
 * The delivery thread (src/webhooks/delivery-thread.ts): with `webhooks.delivery_thread` on (off by
 * default), webhook deliveries and audit entries are made by another thread, so they arrive while
 * the main thread's event loop is blocked; its metrics appear on the main /metrics; close() leaves
 * no thread behind (a process that starts and closes Wharf exits by itself).
 *
 * The receiver runs in a worker thread of its own (a server on this thread could not answer while
 * the test blocks it), and the database is watched from inside the blocking loop with a separate
 * synchronous SQLite connection, or on PostgreSQL by a polling worker thread (watchProgress).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { createRequire } from 'node:module';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, createPolicy, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';
import { databaseOverrides, onPostgres } from '../helpers/db.ts';

/** An HTTP receiver on 127.0.0.1 in a worker thread: answers 200 and counts the requests. */
interface ThreadReceiver {
  url: string;
  count(): Promise<number>;
  close(): Promise<void>;
}

async function startThreadReceiver(): Promise<ThreadReceiver> {
  const code = `
    const http = require('node:http');
    const { parentPort } = require('node:worker_threads');
    let n = 0;
    const server = http.createServer((req, res) => { req.resume(); req.on('end', () => { n++; res.end('ok'); }); });
    server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
    parentPort.on('message', (m) => {
      if (m === 'count') parentPort.postMessage({ count: n });
      if (m === 'close') server.close(() => parentPort.close());
    });`;
  const worker = new Worker(code, { eval: true });
  const next = () => new Promise<Record<string, number>>((resolve) => worker.once('message', resolve));
  const { port } = await next();
  return {
    url: `http://127.0.0.1:${String(port)}`,
    async count() {
      const answer = next();
      worker.postMessage('count');
      return (await answer).count ?? -1;
    },
    async close() {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('close');
      await exited;
    },
  };
}

/** What the delivery pipeline wrote for one repository, readable while this thread's event loop is blocked. */
interface Progress {
  read(): { delivered: number; audited: number };
  close(): void;
}

const deliveredSql = "select count(*) as n from webhook_executions where status = 'Success' and payload like ?";
const auditedSql = "select count(*) as n from audit_log where resource like ? and operation = 'create'";

/**
 * Rows the delivery pipeline wrote for `repo`, read on a separate connection: a synchronous SQLite
 * connection, or (PostgreSQL, whose client is asynchronous) a worker thread polling the database
 * and publishing the counts in shared memory.
 */
async function watchProgress(w: TestWharf, repo: string): Promise<Progress> {
  if (!onPostgres) {
    const sqlite = new SQLite(join(w.dataDir, 'wharf.db'), { readonly: true });
    return {
      read() {
        const delivered = sqlite.prepare(deliveredSql).get(`%${repo}%`) as { n: number }; // count(*) always returns one row with n
        const audited = sqlite.prepare(auditedSql).get(`library/${repo}:%`) as { n: number }; // as above
        return { delivered: delivered.n, audited: audited.n };
      },
      close: () => sqlite.close(),
    };
  }
  const url = (await databaseOverrides(w.dataDir)).database?.url;
  assert.ok(url);
  const counts = new Int32Array(new SharedArrayBuffer(8));
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const pg = require(workerData.pg);
    const counts = workerData.counts;
    const client = new pg.Client({ connectionString: workerData.url });
    let stop = false;
    parentPort.on('message', () => { stop = true; });
    (async () => {
      await client.connect();
      parentPort.postMessage('ready');
      while (!stop) {
        const d = await client.query(workerData.delivered, [workerData.like]);
        const a = await client.query(workerData.audited, [workerData.resource]);
        Atomics.store(counts, 0, Number(d.rows[0].n));
        Atomics.store(counts, 1, Number(a.rows[0].n));
        await new Promise((r) => setTimeout(r, 10));
      }
      await client.end();
      parentPort.close();
    })();`;
  const worker = new Worker(code, {
    eval: true,
    workerData: {
      pg: createRequire(import.meta.url).resolve('pg'),
      url,
      counts,
      delivered: deliveredSql.replace('?', '$1'),
      audited: auditedSql.replace('?', '$1'),
      like: `%${repo}%`,
      resource: `library/${repo}:%`,
    },
  });
  worker.unref(); // a test that fails before close() leaves no thread keeping the process alive
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    read: () => ({ delivered: Atomics.load(counts, 0), audited: Atomics.load(counts, 1) }),
    close: () => worker.postMessage('stop'),
  };
}

/**
 * Blocks this thread's event loop for up to `maxMs` (a synchronous loop; SQLite reads are
 * synchronous too) until `done` holds; returns how long it took, or null when it never held.
 */
function blockUntil(done: () => boolean, maxMs: number): number | null {
  const start = Date.now();
  while (Date.now() - start < maxMs) {
    if (done()) return Date.now() - start;
    const pause = Date.now() + 5;
    while (Date.now() < pause) {
      /* busy: the event loop does not turn */
    }
  }
  return null;
}

/** Lets the event loop turn a few times (the push's wake-up message is posted on a later turn). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

async function pushWhileBlocked(w: TestWharf, rx: ThreadReceiver, repo: string, maxBlockMs: number): Promise<{ took: number | null; progress: Progress }> {
  await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
    name: `p-${repo}`,
    event_types: ['PUSH_ARTIFACT'],
    repo_filters: [`library/${repo}`],
    targets: [{ type: 'http', address: `${rx.url}/hook` }],
  });
  const progress = await watchProgress(w, repo);
  await pushSmallImage(w.url, `library/${repo}`, smallImage(repo), { tag: 'v1', auth: adminAuth });
  await turns(3);
  const took = blockUntil(() => {
    const p = progress.read();
    return p.delivered >= 1 && p.audited >= 1;
  }, maxBlockMs);
  return { took, progress };
}

describe('delivery thread', () => {
  let w: TestWharf;
  let rx: ThreadReceiver;
  before(async () => {
    rx = await startThreadReceiver();
    w = await startWharf({ overrides: { webhooks: { delivery_thread: true }, audit: { poll_ms: 200 } } });
  });
  after(async () => {
    await w.close();
    await rx.close();
  });

  it('runs in a worker thread, not the main thread', () => {
    const id = w.wharf.deliveryThread?.threadId;
    assert.equal(typeof id, 'number');
    assert.ok(id !== undefined && id > 0, 'a worker thread id');
  });

  it('delivers a webhook and writes the audit entry while the main event loop is blocked', async () => {
    const before = await rx.count();
    const { took, progress } = await pushWhileBlocked(w, rx, 'blocked-main', 10_000);
    progress.close();
    assert.notEqual(took, null, 'the delivery and the audit entry arrived while the main thread was blocked');
    assert.ok((await rx.count()) > before, 'the receiver got the webhook');
  });

  it('shows the thread’s webhook metrics on /metrics, once per metric', async () => {
    const a = await api(w.url, 'GET', '/metrics', { auth: adminAuth });
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /text\/plain/);
    const m = /^wharf_webhook_attempts_total\{type="http",outcome="success"\} (\d+)$/m.exec(a.text);
    assert.ok(m, `a success counter in:\n${a.text}`);
    assert.ok(Number(m[1]) >= 1);
    assert.match(a.text, /^wharf_webhook_attempt_duration_seconds_count [1-9]\d*$/m);
    assert.equal(a.text.match(/^# HELP wharf_webhook_attempts_total /gm)?.length, 1);
    // The main thread's own metrics are still there.
    assert.match(a.text, /^wharf_http_requests_total\{/m);
  });

  it('wakes the thread after a redelivery through the API', async () => {
    const exec = await w.wharf.db.kysely.selectFrom('webhook_executions').select('id').where('status', '=', 'Success').executeTakeFirstOrThrow();
    const before = await rx.count();
    const r = await w.wharf.engine.redeliver(exec.id);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const e = await w.wharf.db.kysely.selectFrom('webhook_executions').select('status').where('id', '=', r.executionId).executeTakeFirstOrThrow();
      if (e.status === 'Success') break;
      assert.ok(Date.now() < deadline, 'the redelivery was made');
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(await rx.count(), before + 1);
  });
});

describe('delivery thread off (webhooks.delivery_thread: false)', () => {
  it('delivers on the main thread: nothing arrives while it is blocked, then it does', async () => {
    const rx = await startThreadReceiver();
    const w = await startWharf({ overrides: { webhooks: { delivery_thread: false }, audit: { poll_ms: 200 } } });
    try {
      assert.equal(w.wharf.deliveryThread, null);
      const { took, progress } = await pushWhileBlocked(w, rx, 'main-only', 1500);
      assert.equal(took, null, 'nothing is delivered while the main thread is blocked');
      const deadline = Date.now() + 10_000;
      while (progress.read().delivered < 1 || progress.read().audited < 1) {
        assert.ok(Date.now() < deadline, 'delivered once the main thread is free');
        await new Promise((res) => setTimeout(res, 20));
      }
      progress.close();
    } finally {
      await w.close();
      await rx.close();
    }
  });
});

describe('lifecycle', () => {
  it('a process that starts and closes Wharf exits by itself (no thread left behind)', async () => {
    const script = `
      import { loadConfig } from './src/config/index.ts';
      import { createWharf } from './src/main.ts';
      import { mkdtempSync, rmSync } from 'node:fs';
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      const dir = mkdtempSync(join(tmpdir(), 'wharf-thread-'));
      const config = loadConfig({ env: {}, file: null, overrides: { host: '127.0.0.1', port: 0, data_dir: dir, admin_password: 'Harbor12345', log_level: 'silent', webhooks: { delivery_thread: true } } });
      const wharf = await createWharf(config, { defaultMetrics: false });
      await wharf.listen();
      if (typeof wharf.deliveryThread?.threadId !== 'number') throw new Error('no delivery thread');
      await wharf.close();
      rmSync(dir, { recursive: true, force: true });
      console.log('closed');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(timer);
    assert.equal(code, 0, `the process exited on its own:\n${out}`);
    assert.match(out, /closed/);
  });

  it('a thread that dies is restarted and delivers again', async () => {
    const rx = await startThreadReceiver();
    const w = await startWharf({ overrides: { webhooks: { delivery_thread: true }, audit: { poll_ms: 200 } } });
    try {
      const thread = w.wharf.deliveryThread;
      assert.ok(thread);
      const first = thread.threadId;
      await thread.crashForTest();
      const deadline = Date.now() + 15_000;
      while (thread.threadId === undefined || thread.threadId === first) {
        assert.ok(Date.now() < deadline, 'the thread was restarted');
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.equal(thread.restarts, 1);
      const { took, progress } = await pushWhileBlocked(w, rx, 'after-restart', 10_000);
      progress.close();
      assert.notEqual(took, null, 'the restarted thread delivers');
    } finally {
      await w.close();
      await rx.close();
    }
  });
});
