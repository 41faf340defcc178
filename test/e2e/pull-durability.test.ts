/**
 * End-to-end: manifest pulls are group-committed (src/registry/pull-recorder.ts), yet every GET
 * that was answered has its committed PULL_ARTIFACT event and pull_count, even when `wharf serve`
 * is killed with kill -9 while GETs are in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dropDatabaseOf, openDataDirDatabase } from '../helpers/db.ts';
import { adminAuth, spawnWharf, tempDataDir, type SpawnedWharf } from '../helpers/wharf.ts';
import { pushSmallImage, smallImage } from '../helpers/webhook-client.ts';

test('e2e: every answered manifest GET keeps its PULL_ARTIFACT event across kill -9', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDataDir('wharf-pulls-');
  let server: SpawnedWharf | undefined;
  t.after(async () => {
    if (server && server.proc.exitCode === null && server.proc.signalCode === null) await server.kill9();
    rmSync(dataDir, { recursive: true, force: true });
    await dropDatabaseOf(dataDir);
  });
  server = await spawnWharf({ dataDir });
  const s = server;
  await pushSmallImage(s.url, 'library/pulls', smallImage('durability'), { tag: 'v1', auth: adminAuth });

  let answered = 0;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const res = await fetch(`${s.url}/v2/library/pulls/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
        await res.arrayBuffer();
        if (res.status === 200 && !stop) answered++;
        else if (res.status !== 200) assert.fail(`GET answered ${res.status}`);
      } catch {
        return; // the server was killed under this request
      }
    }
  };
  const workers = Array.from({ length: 16 }, () => worker());
  // Let the pulls run, then kill -9 while GETs are in flight (answered is read at the moment of the kill).
  await new Promise((r) => setTimeout(r, 1500));
  const answeredAtKill = answered;
  stop = true;
  await s.kill9();
  await Promise.all(workers);
  assert.ok(answeredAtKill > 20, `only ${answeredAtKill} GETs were answered before the kill`);

  const db = await openDataDirDatabase(dataDir);
  try {
    const events = await db.kysely.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('type', '=', 'PULL_ARTIFACT').executeTakeFirstOrThrow();
    const repo = await db.kysely.selectFrom('repositories').select('pull_count').where('name', '=', 'library/pulls').executeTakeFirstOrThrow();
    assert.ok(events.n >= answeredAtKill, `${events.n} PULL_ARTIFACT events committed for ${answeredAtKill} answered GETs`);
    assert.equal(repo.pull_count, events.n, 'pull_count and the events are written in the same transactions');
  } finally {
    await db.close();
  }
});
