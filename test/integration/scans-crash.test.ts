/**
 * A scan across kill -9 (SQLite, and PostgreSQL in that pass): `wharf serve` as a child process is
 * killed while its task polls a real adapter (test/helpers/test-adapter.ts); the next process
 * claims the task once its lease expired, polls the SAME adapter request again (the adapter sees
 * one scan), and the outbox holds exactly one SCANNING_COMPLETED for the manifest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { request } from 'undici';
import { adminAuth, spawnWharf, tempDataDir } from '../helpers/wharf.ts';
import { dropDatabaseOf, openDataDirDatabase } from '../helpers/db.ts';
import { eventually, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';
import { startTestAdapter, vuln11 } from '../helpers/test-adapter.ts';

async function call(base: string, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<{ status: number; json: unknown; headers: Record<string, unknown> }> {
  const res = await request(`${base}/api/v2.0${path}`, { method, headers: { authorization: adminAuth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.body.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, json, headers: res.headers };
}

async function status(base: string): Promise<string | undefined> {
  const r = await call(base, 'GET', '/projects/library/repositories/app/artifacts/v1?with_scan_overview=true');
  const so = (r.json as { scan_overview?: Record<string, { scan_status?: string }> }).scan_overview; // Harbor's Artifact shape
  return so?.[vuln11]?.scan_status;
}

test('a scan survives kill -9: the next process resumes polling the same request; one event', { timeout: 120_000 }, async () => {
  const dataDir = tempDataDir();
  const adapter = await startTestAdapter();
  const env = { WHARF_JOBS__LEASE_SECONDS: '2', WHARF_JOBS__POLL_MS: '100' };
  let w = await spawnWharf({ dataDir, env });
  try {
    const reg = await call(w.url, 'POST', '/scanners', { name: 'crash-adapter', url: adapter.url });
    assert.equal(reg.status, 201);
    const uuid = String(reg.headers.location).split('/').pop();
    assert.equal((await call(w.url, 'PUT', '/projects/library/scanner', { uuid })).status, 200);
    adapter.mode = 'hang';
    const digest = await pushSmallImage(w.url, 'library/app', smallImage('crash-a'), { tag: 'v1', auth: adminAuth });
    assert.equal((await call(w.url, 'POST', '/projects/library/repositories/app/artifacts/v1/scan')).status, 202);
    await eventually(async () => (await status(w.url)) === 'Running');
    await eventually(async () => adapter.polls.length > 0);
    await w.kill9();
    adapter.mode = 'ready';
    w = await spawnWharf({ dataDir, env });
    await eventually(async () => (await status(w.url)) === 'Success');
    assert.equal(adapter.scans.length, 1, 'no second scan at the adapter');
    assert.ok(adapter.polls.every((p) => p.id === adapter.scans[0]?.id));
    await w.stop();
    const db = await openDataDirDatabase(dataDir);
    try {
      const rows = await db.kysely.selectFrom('events').select(['type', 'data']).where('type', 'like', 'SCANNING_%').execute();
      const mine = rows.filter((r) => (JSON.parse(r.data) as { artifact: { digest: string } }).artifact.digest === digest); // the outbox's event JSON
      assert.deepEqual(
        mine.map((r) => r.type),
        ['SCANNING_COMPLETED'],
      );
      const logs = await db.kysely.selectFrom('job_task_logs').select('message').execute();
      assert.ok(logs.some((l) => /resuming: polling the adapter's scan request scan-1 again \(run 2\)/.test(l.message)));
    } finally {
      await db.close();
    }
  } finally {
    if (w.proc.exitCode === null) await w.kill9();
    await adapter.close();
    rmSync(dataDir, { recursive: true, force: true });
    await dropDatabaseOf(dataDir);
  }
});

test('a scan whose worker died after its last run ends Error with one SCANNING_FAILED; a new scan is accepted', { timeout: 120_000 }, async () => {
  const dataDir = tempDataDir();
  const adapter = await startTestAdapter();
  const env = { WHARF_JOBS__LEASE_SECONDS: '2', WHARF_JOBS__POLL_MS: '100', WHARF_JOBS__MAX_RUNS: '1' };
  let w = await spawnWharf({ dataDir, env });
  try {
    const reg = await call(w.url, 'POST', '/scanners', { name: 'crash-adapter', url: adapter.url });
    const uuid = String(reg.headers.location).split('/').pop();
    assert.equal((await call(w.url, 'PUT', '/projects/library/scanner', { uuid })).status, 200);
    adapter.mode = 'hang';
    const digest = await pushSmallImage(w.url, 'library/app', smallImage('crash-b'), { tag: 'v1', auth: adminAuth });
    assert.equal((await call(w.url, 'POST', '/projects/library/repositories/app/artifacts/v1/scan')).status, 202);
    await eventually(async () => (await status(w.url)) === 'Running');
    await w.kill9();
    adapter.mode = 'ready';
    w = await spawnWharf({ dataDir, env });
    // The next process finds the task's lease expired with no run left: the task ends Error.
    const db = await openDataDirDatabase(dataDir);
    try {
      await eventually(async () => (await db.kysely.selectFrom('job_tasks').select('status').where('vendor_type', '=', 'IMAGE_SCAN').execute()).some((t) => t.status === 'Error'));
    } finally {
      await db.close();
    }
    assert.equal(await status(w.url), 'Running', 'the report waits for the next scan request to be ended');
    assert.equal((await call(w.url, 'POST', '/projects/library/repositories/app/artifacts/v1/scan')).status, 202);
    await eventually(async () => (await status(w.url)) === 'Success');
    await w.stop();
    const db2 = await openDataDirDatabase(dataDir);
    try {
      const rows = await db2.kysely.selectFrom('events').select(['type', 'data']).where('type', 'like', 'SCANNING_%').orderBy('seq').execute();
      const mine = rows.map((r) => JSON.parse(r.data) as { type: string; error?: string; artifact: { digest: string } }).filter((e) => e.artifact.digest === digest); // the outbox's event JSON
      assert.deepEqual(
        mine.map((e) => e.type),
        ['SCANNING_FAILED', 'SCANNING_COMPLETED'],
      );
      assert.match(mine[0]?.error ?? '', /worker lost \(lease expired\), no retry left/);
    } finally {
      await db2.close();
    }
  } finally {
    if (w.proc.exitCode === null) await w.kill9();
    await adapter.close();
    rmSync(dataDir, { recursive: true, force: true });
    await dropDatabaseOf(dataDir);
  }
});
