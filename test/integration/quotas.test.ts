/**
 * Storage quotas over real HTTP: a real Wharf (SQLite file, filesystem blobs), pushes over /v2,
 * the quota API, and QUOTA_EXCEED / QUOTA_WARNING delivered to a real node:http receiver through a
 * policy created with the webhook API.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { jsonBody, startReceiver, type Receiver } from '../helpers/receiver.ts';
import { api, createPolicy, explain, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';
import { sha256 } from '../helpers/oci-layout.ts';

let w: TestWharf;
let rx: Receiver;

/** A parsed JSON body typed as the test reads it. */
function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

/** The outcome of one raw push step. */
interface Answer {
  status: number;
  text: string;
}

/** Creates a project with a storage limit and a policy sending quota events to `path` on the receiver; returns the project id. */
async function quotaProject(name: string, limit: number, path: string): Promise<number> {
  const a = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: name, storage_limit: limit } });
  assert.equal(a.status, 201, explain('POST', '/api/v2.0/projects', a));
  const id = Number(String(a.headers.location).split('/').pop());
  await createPolicy(w.url, adminAuth, `/api/v2.0/projects/${name}`, {
    name: `quota-${name}`,
    event_types: ['QUOTA_EXCEED', 'QUOTA_WARNING'],
    targets: [{ type: 'http', address: rx.url + path }],
  });
  return id;
}

/** POST an upload and PUT the blob in one go (monolithic); returns the final answer. */
async function pushBlobRaw(repo: string, data: Buffer): Promise<Answer> {
  const start = await request(`${w.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { authorization: adminAuth } });
  const startText = await start.body.text();
  if (start.statusCode !== 202) return { status: start.statusCode, text: startText };
  const url = new URL(String(start.headers.location), w.url);
  url.searchParams.set('digest', sha256(data));
  const put = await request(url.toString(), {
    method: 'PUT',
    headers: { authorization: adminAuth, 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    body: data,
  });
  return { status: put.statusCode, text: await put.body.text() };
}

async function usage(id: number): Promise<{ hard: number; used: number }> {
  const a = await api(w.url, 'GET', `/api/v2.0/quotas/${id}`, { auth: adminAuth });
  assert.equal(a.status, 200, explain('GET', `/api/v2.0/quotas/${id}`, a));
  const q = shape<{ hard: { storage: number }; used: { storage: number } }>(a.json);
  return { hard: q.hard.storage, used: q.used.storage };
}

async function blobExists(repo: string, digest: string): Promise<boolean> {
  const r = await request(`${w.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD', headers: { authorization: adminAuth } });
  await r.body.text();
  return r.statusCode === 200;
}

function bytes(n: number): Buffer {
  return randomBytes(n);
}

type QuotaPayload = { type: string; operator: string; event_data: { custom_attributes: { Details: string }; repository?: { repo_full_name: string } } };

before(async () => {
  rx = await startReceiver();
  w = await startWharf();
});

after(async () => {
  await w.close();
  await rx.close();
});

describe('quota boundaries', () => {
  it('accepts a push exactly at the limit, refuses one byte over with the sizes, and warns once on crossing', async () => {
    const id = await quotaProject('qbound', 1000, '/bound');
    assert.equal((await usage(id)).hard, 1000);

    const first = await pushBlobRaw('qbound/app', bytes(900)); // 0 -> 900: crosses 85% (850)
    assert.equal(first.status, 201, first.text);
    const second = await pushBlobRaw('qbound/app', bytes(50)); // 900 -> 950: above, no new warning
    assert.equal(second.status, 201, second.text);
    const third = await pushBlobRaw('qbound/app', bytes(50)); // exactly at the limit
    assert.equal(third.status, 201, third.text);
    assert.equal((await usage(id)).used, 1000);

    const over = bytes(1);
    const refused = await pushBlobRaw('qbound/app', over);
    assert.equal(refused.status, 403, refused.text);
    const body = shape<{ errors: Array<{ code: string; message: string }> }>(JSON.parse(refused.text));
    assert.equal(body.errors[0]?.code, 'DENIED');
    assert.match(body.errors[0]?.message ?? '', /needed 1 bytes, used 1000 bytes, limit 1000 bytes/);
    assert.equal(await blobExists('qbound/app', sha256(over)), false, 'a refused blob must not be visible');
    assert.equal((await usage(id)).used, 1000, 'nothing half-counted');

    const got = await rx.waitFor(2, 10_000, '/bound');
    await new Promise((r) => setTimeout(r, 500)); // any extra (wrong) warning would arrive by now
    const events = rx.on('/bound').map((r) => shape<QuotaPayload>(jsonBody(r)));
    assert.equal(got.length >= 2, true);
    const warnings = events.filter((e) => e.type === 'QUOTA_WARNING');
    const exceeds = events.filter((e) => e.type === 'QUOTA_EXCEED');
    assert.equal(warnings.length, 1, `one warning on crossing only: ${JSON.stringify(events)}`);
    assert.equal(exceeds.length, 1);
    assert.equal(warnings[0]?.event_data.custom_attributes.Details, 'quota usage reach 85%: resource storage used 900 B of 1000 B');
    assert.equal(
      exceeds[0]?.event_data.custom_attributes.Details,
      'adding 1 B of storage resource, which when updated to current usage of 1000 B will exceed the configured upper limit of 1000 B.',
    );
    assert.equal(exceeds[0]?.operator, 'admin');
    assert.equal(exceeds[0]?.event_data.repository?.repo_full_name, 'qbound/app');
  });

  it('refuses a monolithic upload early from its Content-Length and discards the upload', async () => {
    const id = await quotaProject('qearly', 100, '/early');
    const data = bytes(101);
    const start = await request(`${w.url}/v2/qearly/app/blobs/uploads/`, { method: 'POST', headers: { authorization: adminAuth } });
    await start.body.text();
    assert.equal(start.statusCode, 202);
    const loc = new URL(String(start.headers.location), w.url);
    const put = new URL(loc);
    put.searchParams.set('digest', sha256(data));
    const r = await request(put.toString(), { method: 'PUT', headers: { authorization: adminAuth, 'content-length': String(data.length) }, body: data });
    const text = await r.body.text();
    assert.equal(r.statusCode, 403, text);
    assert.match(text, /needed 101 bytes, used 0 bytes, limit 100 bytes/);
    const status = await request(loc.toString(), { headers: { authorization: adminAuth } });
    await status.body.text();
    assert.equal(status.statusCode, 404, 'the upload was discarded');
    assert.equal((await usage(id)).used, 0);
  });

  it('refuses a PATCH chunk whose Content-Length exceeds what is left', async () => {
    await quotaProject('qpatch', 100, '/patch');
    const start = await request(`${w.url}/v2/qpatch/app/blobs/uploads/`, { method: 'POST', headers: { authorization: adminAuth } });
    await start.body.text();
    const loc = new URL(String(start.headers.location), w.url);
    const chunk = bytes(60);
    const ok = await request(loc.toString(), {
      method: 'PATCH',
      headers: { authorization: adminAuth, 'content-type': 'application/octet-stream', 'content-length': '60', 'content-range': '0-59' },
      body: chunk,
    });
    await ok.body.text();
    assert.equal(ok.statusCode, 202);
    const next = new URL(String(ok.headers.location), w.url);
    const big = await request(next.toString(), {
      method: 'PATCH',
      headers: { authorization: adminAuth, 'content-type': 'application/octet-stream', 'content-length': '60', 'content-range': '60-119' },
      body: bytes(60),
    });
    const text = await big.body.text();
    assert.equal(big.statusCode, 403, text);
    assert.match(text, /needed 120 bytes, used 0 bytes, limit 100 bytes/);
  });

  it('counts manifests: a manifest that does not fit is refused with DENIED and QUOTA_EXCEED names it', async () => {
    const img = smallImage('qman');
    const limit = img.layer.length + img.config.length + img.manifest.length - 1;
    const id = await quotaProject('qman', limit, '/man');
    const a = await pushBlobRaw('qman/app', img.layer);
    assert.equal(a.status, 201, a.text);
    const b = await pushBlobRaw('qman/app', img.config);
    assert.equal(b.status, 201, b.text);
    const r = await request(`${w.url}/v2/qman/app/manifests/v1`, {
      method: 'PUT',
      headers: { authorization: adminAuth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: img.manifest,
    });
    const text = await r.body.text();
    assert.equal(r.statusCode, 403, text);
    assert.match(text, new RegExp(`needed ${img.manifest.length} bytes, used ${img.layer.length + img.config.length} bytes, limit ${limit} bytes`));
    assert.equal((await usage(id)).used, img.layer.length + img.config.length);
    const got = await rx.waitFor(1, 10_000, (q) => q.path === '/man' && shape<QuotaPayload>(jsonBody(q)).type === 'QUOTA_EXCEED');
    const payload = shape<{ event_data: { resources?: Array<{ digest?: string; tag?: string }> } }>(jsonBody(got[0] ?? assert.fail('no event')));
    assert.deepEqual(payload.event_data.resources, [{ digest: img.digest, tag: 'v1' }]);
    const get = await request(`${w.url}/v2/qman/app/manifests/v1`, { headers: { authorization: adminAuth } });
    await get.body.text();
    assert.equal(get.statusCode, 404, 'the refused manifest is not visible');
  });

  it('lets exactly one of two pushes racing for the last bytes win, and usage equals what is stored', async () => {
    const id = await quotaProject('qrace', 1000, '/race');
    const results = await Promise.all([pushBlobRaw('qrace/a', bytes(600)), pushBlobRaw('qrace/b', bytes(600))]);
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 403], JSON.stringify(results));
    assert.equal((await usage(id)).used, 600);

    // Eight pushes of 100 bytes for the 400 bytes left: exactly four win.
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => pushBlobRaw(`qrace/r${i}`, bytes(100))));
    assert.equal(many.filter((r) => r.status === 201).length, 4, JSON.stringify(many.map((r) => r.status)));
    assert.equal(many.filter((r) => r.status === 403).length, 4);
    const stored = await w.wharf.db.kysely
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .innerJoin('blobs as b', 'b.digest', 'rb.digest')
      .select((eb) => eb.fn.sum<number>('b.size').as('total'))
      .where('r.project_id', '=', id)
      .executeTakeFirstOrThrow();
    assert.equal((await usage(id)).used, 1000);
    assert.equal(Number(stored.total), 1000, 'usage equals the bytes the project links');
  });
});

describe('quota accounting', () => {
  it('counts a blob shared by two repositories once, and deleting artifacts lowers the usage', async () => {
    const id = await quotaProject('qshare', -1, '/share');
    const img = smallImage('qshare');
    const total = img.layer.length + img.config.length + img.manifest.length;
    await pushSmallImage(w.url, 'qshare/one', img, { tag: 'v1', auth: adminAuth });
    await pushSmallImage(w.url, 'qshare/two', img, { tag: 'v1', auth: adminAuth });
    assert.deepEqual(await usage(id), { hard: -1, used: total });

    const del1 = await request(`${w.url}/v2/qshare/one/manifests/${img.digest}`, { method: 'DELETE', headers: { authorization: adminAuth } });
    await del1.body.text();
    assert.equal(del1.statusCode, 202);
    assert.equal((await usage(id)).used, total, 'still referenced by qshare/two');
    const del2 = await api(w.url, 'DELETE', '/api/v2.0/projects/qshare/repositories/two', { auth: adminAuth });
    assert.equal(del2.status, 200, explain('DELETE', 'repositories/two', del2));
    assert.equal((await usage(id)).used, 0);
  });

  it('deleting a blob lowers usage once no repository of the project links it', async () => {
    const id = await quotaProject('qblob', -1, '/blob');
    const data = bytes(250);
    assert.equal((await pushBlobRaw('qblob/a', data)).status, 201);
    assert.equal((await pushBlobRaw('qblob/b', data)).status, 201);
    assert.equal((await usage(id)).used, 250);
    for (const [repo, left] of [['a', 250], ['b', 0]] as const) {
      const del = await request(`${w.url}/v2/qblob/${repo}/blobs/${sha256(data)}`, { method: 'DELETE', headers: { authorization: adminAuth } });
      await del.body.text();
      assert.equal(del.statusCode, 202);
      assert.equal((await usage(id)).used, left);
    }
  });

  it('warns again only after the usage went back below the threshold', async () => {
    const img = smallImage('qagain');
    const total = img.layer.length + img.config.length + img.manifest.length;
    const id = await quotaProject('qagain', total, '/again');
    const warnings = () => rx.on('/again').filter((r) => shape<QuotaPayload>(jsonBody(r)).type === 'QUOTA_WARNING').length;
    await pushSmallImage(w.url, 'qagain/app', img, { tag: 'v1', auth: adminAuth });
    await rx.waitFor(1, 10_000, '/again');
    await pushSmallImage(w.url, 'qagain/other', img, { tag: 'v1', auth: adminAuth }); // same blobs: no new bytes, no warning
    assert.equal((await usage(id)).used, total);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(warnings(), 1);
    for (const repo of ['app', 'other']) {
      const del = await api(w.url, 'DELETE', `/api/v2.0/projects/qagain/repositories/${repo}`, { auth: adminAuth });
      assert.equal(del.status, 200);
    }
    assert.equal((await usage(id)).used, 0);
    await pushSmallImage(w.url, 'qagain/app', img, { tag: 'v1', auth: adminAuth });
    await rx.waitFor(2, 10_000, '/again');
    assert.equal(warnings(), 2);
  });

  it('gc lowers usage for uploaded blobs no manifest ever referenced', async () => {
    const g = await startWharf({ overrides: { registry: { upload_grace_seconds: 0 } } });
    try {
      const a = await api(g.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'qgc', storage_limit: 10_000 } });
      assert.equal(a.status, 201);
      const data = bytes(300);
      const start = await request(`${g.url}/v2/qgc/app/blobs/uploads/`, { method: 'POST', headers: { authorization: adminAuth } });
      await start.body.text();
      const put = new URL(String(start.headers.location), g.url);
      put.searchParams.set('digest', sha256(data));
      const r = await request(put.toString(), { method: 'PUT', headers: { authorization: adminAuth }, body: data });
      await r.body.text();
      assert.equal(r.statusCode, 201);
      const quotas = await api(g.url, 'GET', '/api/v2.0/quotas?reference=project', { auth: adminAuth });
      const mine = shape<Array<{ ref: { name: string }; used: { storage: number } }>>(quotas.json).find((q) => q.ref.name === 'qgc');
      assert.equal(mine?.used.storage, 300);
      await new Promise((res) => setTimeout(res, 5));
      await g.wharf.gc();
      const after = await api(g.url, 'GET', '/api/v2.0/quotas?reference=project', { auth: adminAuth });
      const again = shape<Array<{ ref: { name: string }; used: { storage: number } }>>(after.json).find((q) => q.ref.name === 'qgc');
      assert.equal(again?.used.storage, 0);
    } finally {
      await g.close();
    }
  });
});

describe('quota API', () => {
  it('lists, reads and updates quotas; storage_limit on projects and /quotas are the same limit', async () => {
    const a = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'qapi', storage_limit: 5000 } });
    assert.equal(a.status, 201);
    const id = Number(String(a.headers.location).split('/').pop());
    const one = await api(w.url, 'GET', `/api/v2.0/quotas/${id}`, { auth: adminAuth });
    assert.equal(one.status, 200);
    const q = shape<{ id: number; ref: { id: number; name: string; owner_name: string }; hard: { storage: number }; used: { storage: number }; creation_time: string }>(one.json);
    assert.deepEqual({ id: q.id, ref: q.ref, hard: q.hard, used: q.used }, { id, ref: { id, name: 'qapi', owner_name: 'admin' }, hard: { storage: 5000 }, used: { storage: 0 } });
    assert.match(q.creation_time, /^\d{4}-\d{2}-\d{2}T/);

    const put = await api(w.url, 'PUT', `/api/v2.0/quotas/${id}`, { auth: adminAuth, body: { hard: { storage: 7000 } } });
    assert.equal(put.status, 200, explain('PUT', 'quota', put));
    const project = await api(w.url, 'GET', `/api/v2.0/projects/${id}`, { auth: adminAuth });
    assert.equal(shape<{ storage_limit: number }>(project.json).storage_limit, 7000);
    const pp = await api(w.url, 'PUT', `/api/v2.0/projects/${id}`, { auth: adminAuth, body: { storage_limit: -1 } });
    assert.equal(pp.status, 200);
    assert.equal((await usage(id)).hard, -1);

    const list = await api(w.url, 'GET', `/api/v2.0/quotas?reference=project&reference_id=${id}`, { auth: adminAuth });
    assert.equal(list.status, 200);
    assert.equal(list.headers['x-total-count'], '1');
    const paged = await api(w.url, 'GET', '/api/v2.0/quotas?page=1&page_size=1&sort=-used.storage', { auth: adminAuth });
    assert.equal(shape<unknown[]>(paged.json).length, 1);
    assert.match(String(paged.headers.link), /rel="next"/);

    for (const body of [{ hard: { storage: 0 } }, { hard: { storage: -2 } }, { hard: { storage: 'x' } }, { hard: { count: 1 } }, {}, []]) {
      const bad = await api(w.url, 'PUT', `/api/v2.0/quotas/${id}`, { auth: adminAuth, body });
      assert.equal(bad.status, 400, explain('PUT', JSON.stringify(body), bad));
    }
    assert.equal((await api(w.url, 'GET', '/api/v2.0/quotas/999999', { auth: adminAuth })).status, 404);
    assert.equal((await api(w.url, 'GET', '/api/v2.0/quotas/abc', { auth: adminAuth })).status, 400);
    assert.equal((await api(w.url, 'GET', '/api/v2.0/quotas?sort=nope', { auth: adminAuth })).status, 200, 'an unknown sort field is ignored');
    assert.equal((await api(w.url, 'GET', '/api/v2.0/quotas')).status, 401);
    assert.equal((await api(w.url, 'PUT', `/api/v2.0/quotas/${id}`, { body: { hard: { storage: 1 } } })).status, 401);
  });
});
