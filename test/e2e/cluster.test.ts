/**
 * Two `wharf serve` processes on one PostgreSQL database and one blob storage (issue 10): the S3
 * bucket of scripts/dev-services.sh when `WHARF_TEST_S3_*` are set (a fresh prefix per run), else
 * one filesystem root both use. Real skopeo, a real webhook receiver, kill -9.
 * - skopeo pushes through A and pulls through B: equal digests;
 * - a chunked blob upload moves between the instances (no sticky sessions needed);
 * - a token issued by A's /service/token is accepted by B (and the other way round);
 * - failed logins on A lock the name on B;
 * - each push (through either) reaches each webhook target exactly once;
 * - kill -9 of one instance while it runs a job and in the middle of a burst of pushes: the other
 *   delivers every stored manifest within the lease time and takes the job over.
 * Needs skopeo and PostgreSQL (`WHARF_TEST_PG_ADMIN_URL`); skipped without them unless
 * WHARF_REQUIRE_E2E=1, which makes them fail instead.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import pg from 'pg';
import { adminAuth, spawnWharf, tempDataDir, type SpawnedWharf } from '../helpers/wharf.ts';
import { databaseName, dropDatabase, dropDatabaseOf } from '../helpers/db.ts';
import { jsonBody, pushDigest, startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.ts';
import { burstWithKill, type BurstOutcome } from '../helpers/e2e.ts';
import { OciLayout, readLayoutIndex, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { adminCreds, e2eRequired, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { api, createPolicy, explain, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

const pgAdminUrl = process.env.WHARF_TEST_PG_ADMIN_URL;
const s3Keys = ['ENDPOINT', 'REGION', 'BUCKET', 'ACCESS_KEY', 'SECRET_KEY'] as const;
const onS3 = s3Keys.every((k) => process.env[`WHARF_TEST_S3_${k}`]);
const skip = skipWithoutSkopeo() || (pgAdminUrl || e2eRequired() ? false : 'needs PostgreSQL: set WHARF_TEST_PG_ADMIN_URL (scripts/dev-services.sh); set WHARF_REQUIRE_E2E=1 to fail instead');

/** Fails the test when something the cluster needs is missing (WHARF_REQUIRE_E2E=1 runs it anyway). */
function requireCluster(): void {
  requireSkopeo();
  if (!pgAdminUrl) throw new Error('WHARF_TEST_PG_ADMIN_URL is not set but WHARF_REQUIRE_E2E=1 requires the cluster e2e test to run');
}

/** Job and lease settings short enough for the test to run in seconds. */
const jobLeaseSeconds = 2;
/** The webhook target's timeout: a delivery's lease is this plus the worker's 10 s margin. */
const targetTimeoutMs = 2000;
const deliveryLeaseMs = targetTimeoutMs + 10_000;
const maxFailuresPerUser = 3;

interface Cluster {
  a: SpawnedWharf;
  b: SpawnedWharf;
  dbUrl: string;
  recv: Receiver;
}

let cluster: Cluster | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
const dbName = databaseName(`cluster:${process.pid}:${Date.now()}`);
let envOf: (dataDir: string) => Record<string, string> = () => ({});

/** Starts an instance on the shared database and storage (its own data folder). */
async function startInstance(): Promise<SpawnedWharf> {
  const dataDir = tempDataDir('wharf-cluster-');
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  // In the PostgreSQL pass spawnWharf also makes the folder's own database (unused: the URL is ours).
  cleanups.push(() => dropDatabaseOf(dataDir));
  const w = await spawnWharf({ dataDir, env: envOf(dataDir) });
  cleanups.push(async () => {
    if (w.proc.exitCode === null && w.proc.signalCode === null) await w.stop();
  });
  return w;
}

before(async () => {
  if (skip || !pgAdminUrl) return;
  // An empty database (not ensureDatabase's migrated copy): the two instances migrate it together.
  await withPg(pgAdminUrl, (c) => c.query(`CREATE DATABASE "${dbName}"`));
  cleanups.push(() => dropDatabase(dbName));
  const dbUrl = Object.assign(new URL(pgAdminUrl), { pathname: `/${dbName}` }).toString();
  const storage: Record<string, string> = {};
  if (onS3) {
    const e = (k: (typeof s3Keys)[number]) => process.env[`WHARF_TEST_S3_${k}`] ?? '';
    Object.assign(storage, {
      WHARF_STORAGE__DRIVER: 's3',
      WHARF_STORAGE__S3__ENDPOINT: e('ENDPOINT'),
      WHARF_STORAGE__S3__REGION: e('REGION'),
      WHARF_STORAGE__S3__BUCKET: e('BUCKET'),
      WHARF_STORAGE__S3__ACCESS_KEY: e('ACCESS_KEY'),
      WHARF_STORAGE__S3__SECRET_KEY: e('SECRET_KEY'),
      WHARF_STORAGE__S3__FORCE_PATH_STYLE: 'true',
      WHARF_STORAGE__S3__PREFIX: `cluster-test-${Date.now()}-${randomBytes(4).toString('hex')}/`,
    });
  } else {
    const root = tempDataDir('wharf-cluster-storage-');
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    storage.WHARF_STORAGE__ROOT = root;
  }
  envOf = () => ({
    WHARF_DATABASE__URL: dbUrl,
    WHARF_DATABASE__POOL_SIZE: '8',
    ...storage,
    WHARF_LOG_LEVEL: 'warn',
    WHARF_JOBS__LEASE_SECONDS: String(jobLeaseSeconds),
    WHARF_JOBS__POLL_MS: '200',
    WHARF_JOBS__MAX_RUNS: '3',
    WHARF_AUTH__LOGIN_MAX_FAILURES_PER_USER: String(maxFailuresPerUser),
  });
  const recv = await startReceiver();
  cleanups.push(() => recv.close());
  // Started together on an empty database: migrations, the admin, `library` and the signing key
  // must each come out once.
  const [a, b] = await Promise.all([startInstance(), startInstance()]);
  cluster = { a, b, dbUrl, recv };
});

after(async () => {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      /* best effort */
    }
  }
});

function theCluster(): Cluster {
  requireCluster();
  assert.ok(cluster, 'the two instances did not start');
  return cluster;
}

async function withPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function createProject(w: SpawnedWharf, name: string, isPublic = true): Promise<void> {
  const r = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: name, metadata: { public: String(isPublic) } } });
  assert.equal(r.status, 201, explain('POST', '/api/v2.0/projects', r));
}


test('e2e: cluster: instances started together on an empty database migrate once and share one admin, library and signing key', { skip, timeout: 60_000 }, async (t) => {
  const c = theCluster();
  t.diagnostic(`storage: ${onS3 ? `S3 at ${process.env.WHARF_TEST_S3_ENDPOINT}` : 'one filesystem root'}`);
  await withPg(c.dbUrl, async (db) => {
    const migrations = await db.query<{ name: string }>('SELECT name FROM kysely_migration');
    assert.equal(new Set(migrations.rows.map((r) => r.name)).size, migrations.rowCount, 'each migration ran once');
    assert.equal((await db.query(`SELECT 1 FROM users WHERE username = 'admin'`)).rowCount, 1);
    assert.equal((await db.query(`SELECT 1 FROM projects WHERE name = 'library'`)).rowCount, 1);
  });
  // Each issues a token (the first use creates the key); one key in the table afterwards.
  for (const w of [c.a, c.b]) assert.equal((await api(w.url, 'GET', '/service/token?service=wharf', { auth: adminAuth })).status, 200);
  await withPg(c.dbUrl, async (db) => assert.equal((await db.query('SELECT kid FROM token_signing_keys')).rowCount, 1));
});

test('e2e: cluster: skopeo pushes through A and pulls through B with equal digests', { skip, timeout: 120_000 }, async () => {
  const c = theCluster();
  const src = OciLayout.create();
  const out = OciLayout.create();
  try {
    const img = await writeSingleLayerImage(src, 'v1');
    await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref('v1'), `docker://${c.a.host}/library/cluster:v1`]);
    await skopeoOk(['copy', '--quiet', '--src-tls-verify=false', '--src-creds', adminCreds, `docker://${c.b.host}/library/cluster:v1`, out.ref('pulled')]);
    const pulled = readLayoutIndex(out.dir).find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === 'pulled');
    assert.equal(pulled?.digest, img.manifest.digest, 'the manifest pulled through B is the one pushed through A');
    const inspected = JSON.parse(await skopeoOk(['inspect', '--tls-verify=false', '--creds', adminCreds, `docker://${c.b.host}/library/cluster:v1`])) as { Digest?: string };
    assert.equal(inspected.Digest, img.manifest.digest);
  } finally {
    src.remove();
    out.remove();
  }
});

test('e2e: cluster: a chunked blob upload moves between A and B', { skip, timeout: 60_000 }, async () => {
  const c = theCluster();
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const parts = [data.subarray(0, 1024 * 1024), data.subarray(1024 * 1024, 2 * 1024 * 1024), data.subarray(2 * 1024 * 1024)];
  const started = await fetch(`${c.a.url}/v2/library/chunks/blobs/uploads/`, { method: 'POST', headers: { authorization: adminAuth } });
  assert.equal(started.status, 202);
  let location = started.headers.get('location') ?? '';
  let offset = 0;
  for (const [i, part] of parts.entries()) {
    const via = i % 2 ? c.b : c.a;
    const url = new URL(location, via.url);
    const r = await fetch(`${via.url}${url.pathname}${url.search}`, {
      method: 'PATCH',
      headers: { authorization: adminAuth, 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + part.length - 1}` },
      body: part,
    });
    assert.equal(r.status, 202, `PATCH ${i} through ${via.url}: ${await r.text()}`);
    offset += part.length;
    location = r.headers.get('location') ?? location;
  }
  const end = new URL(location, c.b.url);
  end.searchParams.set('digest', digest);
  const put = await fetch(`${c.b.url}${end.pathname}${end.search}`, { method: 'PUT', headers: { authorization: adminAuth } });
  assert.equal(put.status, 201, await put.text());
  const got = await fetch(`${c.a.url}/v2/library/chunks/blobs/${digest}`, { headers: { authorization: adminAuth } });
  assert.equal(got.status, 200);
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(data), 'the blob read through A is the one uploaded through both');
});

test('e2e: cluster: a token issued by A is accepted by B, and one issued by B by A', { skip, timeout: 60_000 }, async () => {
  const c = theCluster();
  // A private project: anonymous pulls get the challenge.
  await createProject(c.b, 'sealed', false);
  await pushSmallImage(c.a.url, 'sealed/tokens', smallImage('cluster-tokens'), { tag: 'v1', auth: adminAuth });
  for (const [issuer, verifier] of [
    [c.a, c.b],
    [c.b, c.a],
  ] as const) {
    // The docker flow: the registry's challenge names the realm; the client gets a token there.
    const challenge = await fetch(`${verifier.url}/v2/sealed/tokens/manifests/v1`);
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers.get('www-authenticate') ?? '', /^Bearer realm="[^"]+\/service\/token",service="wharf",scope="repository:sealed\/tokens:pull"/);
    const t = await api(issuer.url, 'GET', '/service/token?service=wharf&scope=repository:sealed/tokens:pull,push', { auth: adminAuth });
    assert.equal(t.status, 200, explain('GET', '/service/token', t));
    const token = (t.json as { token?: string }).token ?? ''; // the token endpoint's shape (status checked)
    const got = await fetch(`${verifier.url}/v2/sealed/tokens/manifests/v1`, { headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(got.status, 200, `a token from ${issuer.url} on ${verifier.url}`);
    // And it is the whole flow: a push with the token through the other instance.
    const pushed = await pushSmallImage(verifier.url, 'sealed/tokens', smallImage(`cluster-tokens-${issuer.url}`), { tag: 'by-token', auth: `Bearer ${token}` });
    assert.match(pushed, /^sha256:/);
  }
});

test('e2e: cluster: failed logins on A lock the name on B', { skip, timeout: 60_000 }, async () => {
  const c = theCluster();
  const password = 'Cluster1234';
  const u = await api(c.a.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username: 'locky', password, email: 'locky@example.com', realname: 'locky' } });
  assert.equal(u.status, 201, explain('POST', '/api/v2.0/users', u));
  assert.equal((await api(c.b.url, 'GET', '/v2/', { auth: basic('locky', password) })).status, 200, 'B accepts the password of a user created on A');
  for (let i = 0; i < maxFailuresPerUser; i++) assert.equal((await api(c.a.url, 'GET', '/v2/', { auth: basic('locky', 'Wrong1234') })).status, 401);
  // The right password, on the other instance, and on its token endpoint: locked.
  assert.equal((await api(c.b.url, 'GET', '/v2/', { auth: basic('locky', password) })).status, 429);
  assert.equal((await api(c.b.url, 'GET', '/service/token?service=wharf', { auth: basic('locky', password) })).status, 429);
  // Other names are not affected.
  assert.equal((await api(c.b.url, 'GET', '/v2/', { auth: adminAuth })).status, 200);
});

test('e2e: cluster: each push reaches each webhook target exactly once', { skip, timeout: 120_000 }, async (t) => {
  const c = theCluster();
  await createProject(c.a, 'fanout');
  await createPolicy(c.a.url, adminAuth, '/api/v2.0/projects/fanout', {
    name: 'fanout',
    event_types: ['PUSH_ARTIFACT'],
    targets: [
      { type: 'http', address: `${c.recv.url}/one`, payload_format: 'Default' },
      { type: 'http', address: `${c.recv.url}/two`, payload_format: 'Default' },
    ],
  });
  // Pushes through both instances, two at a time.
  const n = 16;
  const digests: string[] = [];
  const layout = OciLayout.create();
  try {
    const img = await writeSingleLayerImage(layout, 'fan');
    await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('fan'), `docker://${c.b.host}/fanout/app:skopeo`]);
    digests.push(img.manifest.digest);
  } finally {
    layout.remove();
  }
  for (let i = 1; i < n; i += 2) {
    const pair = await Promise.all([i, i + 1].filter((k) => k < n).map((k) => pushSmallImage((k % 2 ? c.a : c.b).url, 'fanout/app', smallImage(`fanout-${k}-${Date.now()}`), { tag: `t${k}`, auth: adminAuth })));
    digests.push(...pair);
  }
  assert.equal(new Set(digests).size, n);
  for (const path of ['/one', '/two']) await c.recv.waitFor(n, 30_000, path);
  // Listen a while longer: a second dispatcher or worker would deliver some events twice.
  await sleep(3000);
  for (const path of ['/one', '/two']) {
    const got = c.recv.on(path).map(pushDigest);
    assert.equal(got.length, n, `exactly ${n} deliveries on ${path}, got ${got.length}`);
    assert.deepEqual([...got].sort(), [...digests].sort(), `each push once on ${path}`);
  }
  t.diagnostic(`${n} pushes through A and B: ${n} deliveries on each of two targets, no duplicates`);
});

test('e2e: cluster: kill -9 of an instance mid-burst: the other delivers every stored manifest and takes its job over', { skip, timeout: 180_000 }, async (t) => {
  const c = theCluster();
  await createProject(c.a, 'burst');
  // Slow answers (within the target's timeout) keep deliveries in flight when the process dies.
  c.recv.respond('/burst', { delayMs: 1000 });
  const policyId = await createPolicy(c.a.url, adminAuth, '/api/v2.0/projects/burst', {
    name: 'burst',
    event_types: ['PUSH_ARTIFACT'],
    targets: [{ type: 'http', address: `${c.recv.url}/burst`, payload_format: 'Default', timeout_ms: targetTimeoutMs }],
  });

  // A job that stays running: a garbage collection whose first log line waits for a table lock
  // this test holds (only job logs are blocked; pushes and deliveries are not).
  const locker = new pg.Client({ connectionString: c.dbUrl });
  await locker.connect();
  let lockHeld = true;
  const release = async () => {
    if (!lockHeld) return;
    lockHeld = false;
    await locker.query('ROLLBACK');
  };
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE job_task_logs IN SHARE MODE');
    const gc = await api(c.b.url, 'POST', '/api/v2.0/system/gc/schedule', { auth: adminAuth, body: { schedule: { type: 'Manual' }, parameters: { dry_run: false } } });
    assert.equal(gc.status, 201, explain('POST', '/api/v2.0/system/gc/schedule', gc));
    const gcTask = await withPg(c.dbUrl, async (db) => {
      for (const end = Date.now() + 20_000; Date.now() < end; await sleep(100)) {
        const r = await db.query<{ id: number; execution_id: number; lease_owner: string | null }>(`SELECT id, execution_id, lease_owner FROM job_tasks WHERE vendor_type = 'GARBAGE_COLLECTION' AND status = 'Running' ORDER BY id DESC LIMIT 1`);
        const row = r.rows[0];
        if (row?.lease_owner) return row;
      }
      throw new Error('no instance claimed the garbage collection');
    });
    // The instance running the job is the one to kill ("A"); the other survives ("B").
    const ownerPid = Number(gcTask.lease_owner?.split(':')[1]);
    const [victim, survivor] = ownerPid === c.a.proc.pid ? [c.a, c.b] : [c.b, c.a];
    assert.equal(victim.proc.pid, ownerPid, `the job's lease owner ${gcTask.lease_owner} is one of the two instances`);

    // 24 pushes, half through each instance (a quarter with skopeo), 4 at a time; kill -9 after 8.
    type Job = { name: string; via: SpawnedWharf; run: () => Promise<string> };
    const jobs: Job[] = [];
    const layouts: OciLayout[] = [];
    for (let i = 0; i < 24; i++) {
      const via = i % 2 ? survivor : victim;
      if (i % 4 === 0) {
        const layout = OciLayout.create();
        layouts.push(layout);
        const img = await writeSingleLayerImage(layout, `s${i}`);
        jobs.push({
          name: `burst/skopeo:s${i}`,
          via,
          run: async () => {
            await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref(`s${i}`), `docker://${via.host}/burst/skopeo:s${i}`], { timeoutMs: 30_000 });
            return img.manifest.digest;
          },
        });
      } else {
        jobs.push({ name: `burst/http:h${i}`, via, run: () => pushSmallImage(via.url, 'burst/http', smallImage(`burst-${i}-${Date.now()}`), { tag: `h${i}`, auth: adminAuth }) });
      }
    }
    let burst: BurstOutcome;
    try {
      burst = await burstWithKill(jobs, { workers: 4, killAfter: 8, kill: () => victim.kill9() });
    } finally {
      for (const l of layouts) l.remove();
    }
    const { acked, failed, killed, killedAt } = burst;
    assert.ok(killed, 'the kill happened');
    await release();
    const deliveredBeforeKill = new Set(c.recv.on('/burst').filter((r) => r.receivedAt <= killedAt).map(pushDigest));
    t.diagnostic(`acknowledged ${acked.size}, failed by the kill ${failed.length}; ${deliveredBeforeKill.size} delivered before the kill`);
    assert.ok(failed.length > 0, 'the kill interrupted pushes through the killed instance');

    // Every manifest the registry holds (read through the survivor), by tag.
    const held = new Map<string, string>();
    for (const repo of ['burst/skopeo', 'burst/http']) {
      const tl = await api(survivor.url, 'GET', `/v2/${repo}/tags/list?n=1000`, { auth: adminAuth });
      assert.equal(tl.status, 200, explain('GET', `/v2/${repo}/tags/list`, tl));
      for (const tag of (tl.json as { tags?: string[] | null }).tags ?? []) {
        // The tag list's shape (status checked).
        const h = await fetch(`${survivor.url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { authorization: adminAuth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
        assert.equal(h.status, 200);
        held.set(`${repo}:${tag}`, h.headers.get('docker-content-digest') ?? '');
      }
    }
    for (const [name, digest] of acked) assert.equal(held.get(name), digest, `acknowledged push ${name} is stored`);

    // Delivered by the survivor within the lease time of an attempt cut off by the kill (plus slack
    // for a poll interval and a loaded machine).
    const deadline = killedAt + deliveryLeaseMs + 12_000;
    const delivered = () => new Set(c.recv.on('/burst').map(pushDigest));
    while ([...held.values()].some((d) => !delivered().has(d)) && Date.now() < deadline) await sleep(200);
    const missing = [...held].filter(([, d]) => !delivered().has(d)).map(([n, d]) => `${n} ${d}`);
    assert.deepEqual(missing, [], `every stored manifest was delivered within ${deadline - killedAt} ms of the kill`);
    const last = Math.max(...c.recv.on('/burst').map((r) => r.receivedAt));
    t.diagnostic(`${held.size} stored manifests all delivered; the last ${last - killedAt} ms after the kill; ${c.recv.on('/burst').length} deliveries (at least once)`);

    // Attempts the killed instance had in flight (its leases) are finished by the survivor once
    // they expire: every execution ends Success within the lease time.
    const execPath = `/api/v2.0/projects/burst/webhook/policies/${policyId}/executions?page_size=100`;
    let statuses: string[] = [];
    for (;;) {
      const ex = await api(survivor.url, 'GET', execPath, { auth: adminAuth });
      assert.equal(ex.status, 200, explain('GET', execPath, ex));
      statuses = (Array.isArray(ex.json) ? ex.json : []).map((e: { status?: string }) => String(e.status));
      if (statuses.length >= held.size && statuses.every((st) => st === 'Success')) break;
      if (Date.now() > deadline) assert.fail(`executions did not all end Success within the lease time after the kill: ${JSON.stringify(statuses)}`);
      await sleep(250);
    }
    t.diagnostic(`${statuses.length} executions all Success ${Date.now() - killedAt} ms after the kill`);

    // The job: the survivor claims it once the lease has expired, and it ends Success.
    const outcome = await withPg(c.dbUrl, async (db) => {
      for (const end = Date.now() + 30_000; Date.now() < end; await sleep(200)) {
        const r = await db.query<{ status: string }>('SELECT status FROM job_executions WHERE id = $1', [gcTask.execution_id]);
        const status = r.rows[0]?.status;
        if (status && status !== 'Running' && status !== 'Pending') {
          const task = await db.query<{ status: string; run_count: number; lease_owner: string | null }>('SELECT status, run_count, lease_owner FROM job_tasks WHERE id = $1', [gcTask.id]);
          const logs = await db.query<{ message: string }>('SELECT message FROM job_task_logs WHERE task_id = $1 ORDER BY id', [gcTask.id]);
          return { status, task: task.rows[0], logs: logs.rows.map((l) => l.message) };
        }
      }
      throw new Error('the garbage collection did not end after the kill');
    });
    assert.equal(outcome.status, 'Success', JSON.stringify(outcome));
    assert.ok((outcome.task?.run_count ?? 0) >= 2, `the task ran again: ${JSON.stringify(outcome.task)}`);
    const survivorRuns = outcome.logs.filter((m) => / starts /.test(m) && m.includes(`:${survivor.proc.pid}:`));
    assert.ok(survivorRuns.length >= 1, `the survivor ran the job: ${JSON.stringify(outcome.logs)}`);
    t.diagnostic(`the garbage collection claimed by pid ${ownerPid} ended ${outcome.status} on pid ${survivor.proc.pid} (run ${outcome.task?.run_count})`);
  } finally {
    await release().catch(() => {});
    await locker.end();
  }
});
