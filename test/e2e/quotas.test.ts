/**
 * End-to-end: storage quotas with the real skopeo. A push over the limit fails in the client with
 * Wharf's DENIED message giving the sizes and leaves nothing half-counted; after the limit is raised
 * the same push succeeds, and pushing the image to a second repository of the project adds nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { adminCreds, describeRun, requireSkopeo, skipWithoutSkopeo, skopeo, skopeoOk } from '../helpers/skopeo.ts';
import { OciLayout, writeMultiLayerImage } from '../helpers/oci-layout.ts';
import { api, explain } from '../helpers/webhook-client.ts';

const skip = skipWithoutSkopeo();
let w: TestWharf | undefined;
let layout: OciLayout | undefined;

before(async () => {
  if (!skip) w = await startWharf();
});
after(async () => {
  layout?.remove();
  await w?.close();
});

/** A parsed JSON body typed as the test reads it. */
function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

async function used(base: string, id: number): Promise<number> {
  const a = await api(base, 'GET', `/api/v2.0/quotas/${id}`, { auth: adminAuth });
  assert.equal(a.status, 200, explain('GET', 'quota', a));
  return shape<{ used: { storage: number } }>(a.json).used.storage;
}

test('e2e: skopeo push over the quota is refused with the sizes; raising the limit lets it through; a second repository adds nothing', { skip, timeout: 180_000 }, async () => {
  requireSkopeo();
  assert.ok(w, 'Wharf did not start');
  const base = w.url;
  const limit = 1024 * 1024;
  const created = await api(base, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'qe2e', storage_limit: limit } });
  assert.equal(created.status, 201, explain('POST', 'projects', created));
  const id = Number(String(created.headers.location).split('/').pop());

  layout = OciLayout.create();
  const img = await writeMultiLayerImage(layout, 'v1', { totalMiB: 3, layers: 3 });
  const total = img.manifest.size + img.config.size + img.layers.reduce((s, l) => s + l.size, 0);
  const dest = (repo: string) => `docker://${w?.host ?? ''}/qe2e/${repo}:v1`;
  const args = (repo: string) => ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout?.ref('v1') ?? '', dest(repo)];

  const refused = await skopeo(args('app'));
  assert.notEqual(refused.code, 0, `the push should fail: ${describeRun(refused)}`);
  assert.match(refused.stderr, /quota exceeded for project qe2e/, describeRun(refused));
  assert.match(refused.stderr, new RegExp(`limit ${limit} bytes`), describeRun(refused));
  const afterRefusal = await used(base, id);
  assert.ok(afterRefusal <= limit, `usage ${afterRefusal} must stay within the limit`);
  const linked = await w.wharf.db.kysely
    .selectFrom('project_blobs')
    .select((eb) => eb.fn.sum<number>('size').as('n'))
    .where('project_id', '=', id)
    .executeTakeFirstOrThrow();
  assert.equal(Number(linked.n ?? 0), afterRefusal, 'usage is exactly what the project counts');

  const raise = await api(base, 'PUT', `/api/v2.0/quotas/${id}`, { auth: adminAuth, body: { hard: { storage: 10 * 1024 * 1024 } } });
  assert.equal(raise.status, 200, explain('PUT', 'quota', raise));
  await skopeoOk(args('app'));
  assert.equal(await used(base, id), total);
  await skopeoOk(args('copy'));
  assert.equal(await used(base, id), total, 'the same blobs in a second repository are counted once');
});
