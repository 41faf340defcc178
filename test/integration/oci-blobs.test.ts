/**
 * The blob side of /v2 over real HTTP against a real Wharf (real SQLite file, real blob files):
 * every blob and upload endpoint, and every error code they answer with.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { connect } from 'node:net';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

interface OciErrorBody {
  errors: Array<{ code: string; message: string; detail?: unknown }>;
}

/** Creates a project directly in the database (the projects API is tested elsewhere). */
async function ensureProject(w: TestWharf, name: string, isPublic: boolean): Promise<void> {
  await w.wharf.db.kysely
    .insertInto('projects')
    .values({ name, public: isPublic ? 1 : 0, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: Date.now(), update_time: Date.now() })
    .onConflict((oc) => oc.column('name').doUpdateSet({ public: isPublic ? 1 : 0 }))
    .execute();
}

async function errorOf(r: Response): Promise<OciErrorBody['errors'][number]> {
  // The shape is asserted right below.
  const body = (await r.json()) as OciErrorBody;
  assert.ok(Array.isArray(body.errors) && body.errors.length === 1, `spec-shaped error body: ${JSON.stringify(body)}`);
  const e = body.errors[0];
  assert.ok(e);
  return e;
}

async function expectError(r: Response, status: number, code: string): Promise<OciErrorBody['errors'][number]> {
  assert.equal(r.status, status, `status for ${code}`);
  assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
  const e = await errorOf(r);
  assert.equal(e.code, code);
  return e;
}

describe('/v2 blobs and uploads', () => {
  let w: TestWharf;
  const admin = { authorization: adminAuth };
  const req = (path: string, init: RequestInit = {}) => fetch(w.url + path, init);

  /** Monolithic push of `data` to `repo`. */
  async function push(repo: string, data: Buffer): Promise<string> {
    const d = sha256(data);
    const r = await req(`/v2/${repo}/blobs/uploads/?digest=${d}`, { method: 'POST', headers: admin, body: new Uint8Array(data) });
    assert.equal(r.status, 201, await r.text());
    return d;
  }

  async function startUpload(repo: string): Promise<string> {
    const r = await req(`/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: admin });
    assert.equal(r.status, 202);
    const loc = r.headers.get('location');
    assert.ok(loc);
    return loc;
  }

  before(async () => {
    w = await startWharf();
    await ensureProject(w, 'library', true);
    await ensureProject(w, 'private', false);
  });
  after(async () => {
    await w.close();
  });

  it('GET /v2/ challenges anonymous callers and answers {} to users', async () => {
    const anon = await req('/v2/');
    await expectError(anon, 401, 'UNAUTHORIZED');
    assert.equal(anon.headers.get('www-authenticate'), `Bearer realm="${w.url}/service/token",service="wharf"`);
    const ok = await req('/v2/', { headers: admin });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), {});
    assert.equal(ok.headers.get('docker-distribution-api-version'), 'registry/2.0');
    const bad = await req('/v2/', { headers: { authorization: 'Basic ' + Buffer.from('admin:wrong').toString('base64') } });
    await expectError(bad, 401, 'UNAUTHORIZED');
  });

  it('monolithic POST ?digest= stores the blob; HEAD and GET serve it, anonymously from a public project', async () => {
    const data = randomBytes(1000);
    const d = sha256(data);
    const r = await req(`/v2/library/mono/blobs/uploads/?digest=${d}`, { method: 'POST', headers: admin, body: data });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/library/mono/blobs/${d}`);
    assert.equal(r.headers.get('docker-content-digest'), d);
    const head = await req(`/v2/library/mono/blobs/${d}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '1000');
    assert.equal(head.headers.get('docker-content-digest'), d);
    const get = await req(`/v2/library/mono/blobs/${d}`);
    assert.equal(get.status, 200);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), data);
    // The repository row was created with its CREATE_REPOSITORY event.
    const events = await w.wharf.db.kysely.selectFrom('events').select(['type', 'data']).where('type', '=', 'CREATE_REPOSITORY').execute();
    assert.ok(events.some((e) => e.data.includes('"library/mono"')));
  });

  it('POST then PUT with the whole body completes an upload', async () => {
    const data = randomBytes(5000);
    const d = sha256(data);
    const loc = await startUpload('library/postput');
    assert.match(loc, /^\/v2\/library\/postput\/blobs\/uploads\/[0-9a-f-]{36}$/);
    const put = await req(`${loc}?digest=${d}`, { method: 'PUT', headers: admin, body: data });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('docker-content-digest'), d);
    const get = await req(`/v2/library/postput/blobs/${d}`);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), data);
  });

  it('accepts sha512 digests (verified by re-hashing the upload)', async () => {
    const data = randomBytes(3000);
    const d512 = 'sha512:' + createHash('sha512').update(data).digest('hex');
    const loc = await startUpload('library/sha512');
    await req(loc, { method: 'PATCH', headers: admin, body: data });
    const put = await req(`${loc}?digest=${d512}`, { method: 'PUT', headers: admin });
    assert.equal(put.status, 201);
    const get = await req(`/v2/library/sha512/blobs/${d512}`);
    assert.equal(get.headers.get('docker-content-digest'), d512);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), data);
  });

  it('chunked PATCH with Content-Range, upload status, and a bodiless PUT', async () => {
    const data = randomBytes(30_000);
    const d = sha256(data);
    const first = await req('/v2/library/chunked/blobs/uploads/', { method: 'POST', headers: admin });
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('range'), '0-0');
    const uuid = first.headers.get('docker-upload-uuid');
    let loc = first.headers.get('location') ?? '';
    assert.ok(uuid && loc.endsWith(uuid));
    for (const [s, e] of [
      [0, 9999],
      [10_000, 19_999],
      [20_000, 29_999],
    ] as const) {
      // Streamed body: see the casts' note in the chunked-body test above.
      const r = await req(loc, {
        method: 'PATCH',
        headers: { ...admin, 'content-type': 'application/octet-stream', 'content-range': `${s}-${e}` },
        body: data.subarray(s, e + 1),
      });
      assert.equal(r.status, 202);
      assert.equal(r.headers.get('range'), `0-${e}`);
      assert.equal(r.headers.get('docker-upload-uuid'), uuid);
      loc = r.headers.get('location') ?? '';
    }
    const status = await req(loc, { headers: admin });
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-29999');
    const put = await req(`${loc}?digest=${d}`, { method: 'PUT', headers: admin });
    assert.equal(put.status, 201);
    const get = await req(`/v2/library/chunked/blobs/${d}`);
    assert.equal(sha256(Buffer.from(await get.arrayBuffer())), d);
    // The finished upload is gone.
    await expectError(await req(loc, { headers: admin }), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('PATCH without Content-Range streams a chunked body; PUT carries the last chunk', async () => {
    const a = randomBytes(70_000);
    const b = randomBytes(123);
    const d = sha256(Buffer.concat([a, b]));
    const loc = await startUpload('library/streamed');
    // Node's web-stream type and the DOM one differ only nominally; `duplex` is missing from RequestInit's type.
    const body = Readable.toWeb(Readable.from([a.subarray(0, 1000), a.subarray(1000)])) as ReadableStream;
    const r = await req(loc, { method: 'PATCH', headers: admin, body, duplex: 'half' } as RequestInit);
    assert.equal(r.status, 202);
    assert.equal(r.headers.get('range'), `0-${a.length - 1}`);
    const put = await req(`${r.headers.get('location')}?digest=${d}`, { method: 'PUT', headers: admin, body: b });
    assert.equal(put.status, 201);
    const head = await req(`/v2/library/streamed/blobs/${d}`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(a.length + b.length));
  });

  it('an out-of-order chunk is 416 BLOB_UPLOAD_INVALID and changes nothing', async () => {
    const loc = await startUpload('library/ooo');
    const ok = await req(loc, { method: 'PATCH', headers: { ...admin, 'content-range': '0-9' }, body: Buffer.alloc(10, 1) });
    assert.equal(ok.status, 202);
    const gap = await req(loc, { method: 'PATCH', headers: { ...admin, 'content-range': '20-29' }, body: Buffer.alloc(10, 2) });
    const e = await expectError(gap, 416, 'BLOB_UPLOAD_INVALID');
    assert.match(e.message, /starts at 20/);
    const overlap = await req(loc, { method: 'PATCH', headers: { ...admin, 'content-range': '5-14' }, body: Buffer.alloc(10, 3) });
    await expectError(overlap, 416, 'BLOB_UPLOAD_INVALID');
    const malformed = await req(loc, { method: 'PATCH', headers: { ...admin, 'content-range': 'ten-twenty' }, body: Buffer.alloc(10, 3) });
    await expectError(malformed, 416, 'BLOB_UPLOAD_INVALID');
    const status = await req(loc, { headers: admin });
    assert.equal(status.headers.get('range'), '0-9');
  });

  it('a wrong digest is DIGEST_INVALID, the blob never becomes visible and the upload is discarded', async () => {
    const data = randomBytes(2048);
    const wrong = sha256(Buffer.from('something else'));
    const loc = await startUpload('library/wrong');
    const put = await req(`${loc}?digest=${wrong}`, { method: 'PUT', headers: admin, body: data });
    await expectError(put, 400, 'DIGEST_INVALID');
    await expectError(await req(`/v2/library/wrong/blobs/${wrong}`, { method: 'GET' }), 404, 'BLOB_UNKNOWN');
    await expectError(await req(`/v2/library/wrong/blobs/${sha256(data)}`, { method: 'GET' }), 404, 'BLOB_UNKNOWN');
    await expectError(await req(loc, { headers: admin }), 404, 'BLOB_UPLOAD_UNKNOWN');
    const row = await w.wharf.db.kysely.selectFrom('blobs').select('digest').where('digest', 'in', [wrong, sha256(data)]).executeTakeFirst();
    assert.equal(row, undefined);
    // Monolithic with a wrong digest too.
    const mono = await req(`/v2/library/wrong/blobs/uploads/?digest=${wrong}`, { method: 'POST', headers: admin, body: data });
    await expectError(mono, 400, 'DIGEST_INVALID');
  });

  it('bad or missing digests are DIGEST_INVALID; unknown algorithms UNSUPPORTED', async () => {
    const loc = await startUpload('library/digests');
    await expectError(await req(loc, { method: 'PUT', headers: admin, body: 'x' }), 400, 'DIGEST_INVALID');
    await expectError(await req(`${loc}?digest=sha256:abc`, { method: 'PUT', headers: admin, body: 'x' }), 400, 'DIGEST_INVALID');
    await expectError(await req(`/v2/library/digests/blobs/not-a-digest`, { headers: admin }), 400, 'DIGEST_INVALID');
    await expectError(await req(`/v2/library/digests/blobs/md5:${'0'.repeat(32)}`, { headers: admin }), 405, 'UNSUPPORTED');
  });

  it('unknown uploads are BLOB_UPLOAD_UNKNOWN, including ids that try path tricks', async () => {
    const unknown = `/v2/library/x/blobs/uploads/${randomUUID()}`;
    await expectError(await req(unknown, { headers: admin }), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await req(unknown, { method: 'PATCH', headers: admin, body: 'abc' }), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await req(`${unknown}?digest=${sha256(Buffer.from('abc'))}`, { method: 'PUT', headers: admin, body: 'abc' }), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await req(unknown, { method: 'DELETE', headers: admin }), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await req('/v2/library/x/blobs/uploads/..%2F..%2Fwharf.db', { headers: admin }), 404, 'BLOB_UPLOAD_UNKNOWN');
    // An upload is scoped to its repository.
    const loc = await startUpload('library/scoped');
    const id = loc.split('/').pop();
    await expectError(await req(`/v2/library/other/blobs/uploads/${id}`, { headers: admin }), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('cancelling an upload removes it', async () => {
    const loc = await startUpload('library/cancel');
    await req(loc, { method: 'PATCH', headers: admin, body: 'partial' });
    const del = await req(loc, { method: 'DELETE', headers: admin });
    assert.equal(del.status, 204);
    await expectError(await req(loc, { headers: admin }), 404, 'BLOB_UPLOAD_UNKNOWN');
    const id = loc.split('/').pop() ?? '';
    assert.ok(!readdirSync(join(w.wharf.config.storage.root, 'uploads')).includes(id));
  });

  it('serves byte ranges with 206 and refuses unsatisfiable ones with 416', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const d = await push('library/ranges', data);
    const get = (range: string) => req(`/v2/library/ranges/blobs/${d}`, { headers: { range } });
    const a = await get('bytes=0-4');
    assert.equal(a.status, 206);
    assert.equal(a.headers.get('content-range'), 'bytes 0-4/20');
    assert.equal(a.headers.get('content-length'), '5');
    assert.equal(await a.text(), '01234');
    const b = await get('bytes=15-');
    assert.equal(b.status, 206);
    assert.equal(await b.text(), 'fghij');
    const c = await get('bytes=-3');
    assert.equal(c.headers.get('content-range'), 'bytes 17-19/20');
    assert.equal(await c.text(), 'hij');
    const clipped = await get('bytes=18-100');
    assert.equal(clipped.headers.get('content-range'), 'bytes 18-19/20');
    const bad = await get('bytes=20-25');
    await expectError(bad, 416, 'BLOB_UPLOAD_INVALID');
    assert.equal(bad.headers.get('content-range'), 'bytes */20');
    const whole = await get('items=0-1');
    assert.equal(whole.status, 200);
    assert.equal(await whole.text(), data.toString());
  });

  it('a blob is visible only in repositories that link it', async () => {
    const d = await push('library/linked', randomBytes(100));
    await expectError(await req(`/v2/library/unlinked/blobs/${d}`, { method: 'GET' }), 404, 'BLOB_UNKNOWN');
    const head = await req(`/v2/library/unlinked/blobs/${d}`, { method: 'HEAD' });
    assert.equal(head.status, 404);
  });

  it('mounts a blob from another repository (201) and falls back to an upload (202) when it cannot', async () => {
    const data = randomBytes(4096);
    const d = await push('library/mount-src', data);
    const m = await req(`/v2/library/mount-dst/blobs/uploads/?mount=${d}&from=library/mount-src`, { method: 'POST', headers: admin });
    assert.equal(m.status, 201);
    assert.equal(m.headers.get('location'), `/v2/library/mount-dst/blobs/${d}`);
    assert.equal(m.headers.get('docker-content-digest'), d);
    const get = await req(`/v2/library/mount-dst/blobs/${d}`);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), data);

    const missing = sha256(Buffer.from('never pushed'));
    const f1 = await req(`/v2/library/mount-dst/blobs/uploads/?mount=${missing}&from=library/mount-src`, { method: 'POST', headers: admin });
    assert.equal(f1.status, 202);
    assert.match(f1.headers.get('location') ?? '', /^\/v2\/library\/mount-dst\/blobs\/uploads\//);
    const f2 = await req(`/v2/library/mount-dst/blobs/uploads/?mount=${d}&from=nosuchproject/repo`, { method: 'POST', headers: admin });
    assert.equal(f2.status, 202);
    const f3 = await req(`/v2/library/mount-dst2/blobs/uploads/?mount=${d}`, { method: 'POST', headers: admin });
    assert.equal(f3.status, 202);
    // Mount needs push on the target.
    await expectError(await req(`/v2/library/mount-dst3/blobs/uploads/?mount=${d}&from=library/mount-src`, { method: 'POST' }), 401, 'UNAUTHORIZED');
  });

  it('deleting a blob unlinks it from the repository (202), then 404', async () => {
    const d = await push('library/del', randomBytes(64));
    const del = await req(`/v2/library/del/blobs/${d}`, { method: 'DELETE', headers: admin });
    assert.equal(del.status, 202);
    await expectError(await req(`/v2/library/del/blobs/${d}`), 404, 'BLOB_UNKNOWN');
    await expectError(await req(`/v2/library/del/blobs/${d}`, { method: 'DELETE', headers: admin }), 404, 'BLOB_UNKNOWN');
    await expectError(await req(`/v2/library/del/blobs/${d}`, { method: 'DELETE' }), 401, 'UNAUTHORIZED');
  });

  it('pushing needs credentials: 401 with the challenge for anonymous callers', async () => {
    const data = Buffer.from('anon');
    const r = await req(`/v2/library/anon/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: data });
    await expectError(r, 401, 'UNAUTHORIZED');
    assert.equal(r.headers.get('www-authenticate'), `Bearer realm="${w.url}/service/token",service="wharf",scope="repository:library/anon:pull,push"`);
    await expectError(await req('/v2/library/anon/blobs/uploads/', { method: 'POST' }), 401, 'UNAUTHORIZED');
    const repo = await w.wharf.db.kysely.selectFrom('repositories').select('id').where('name', '=', 'library/anon').executeTakeFirst();
    assert.equal(repo, undefined);
  });

  it('private projects need credentials to pull; missing projects are NAME_UNKNOWN naming the project', async () => {
    const d = await push('private/secret', randomBytes(32));
    await expectError(await req(`/v2/private/secret/blobs/${d}`), 401, 'UNAUTHORIZED');
    const ok = await req(`/v2/private/secret/blobs/${d}`, { headers: admin });
    assert.equal(ok.status, 200);
    const e = await expectError(await req('/v2/nosuchproject/app/blobs/uploads/', { method: 'POST', headers: admin }), 404, 'NAME_UNKNOWN');
    assert.match(e.message, /nosuchproject/);
    assert.deepEqual(e.detail, { name: 'nosuchproject/app', project: 'nosuchproject' });
  });

  it('bad names are NAME_INVALID and nothing is written', async () => {
    const uploadsBefore = await w.wharf.db.kysely.selectFrom('uploads').select('id').execute();
    for (const name of ['Library/app', 'library%2Fapp/x', 'library/%2E%2E/x', 'library/a..b', 'justone', 'library//x', 'library/-x']) {
      const r = await req(`/v2/${name}/blobs/uploads/`, { method: 'POST', headers: admin });
      await expectError(r, 400, 'NAME_INVALID');
    }
    const uploadsAfter = await w.wharf.db.kysely.selectFrom('uploads').select('id').execute();
    assert.equal(uploadsAfter.length, uploadsBefore.length);
  });

  it('unknown routes are 404 NOT_FOUND and unsupported methods 405 UNSUPPORTED, spec-shaped', async () => {
    await expectError(await req('/v2/library/x/nothing', { headers: admin }), 404, 'NOT_FOUND');
    await expectError(await req(`/v2/library/x/blobs/${sha256(Buffer.from('x'))}`, { method: 'PATCH', headers: admin }), 405, 'UNSUPPORTED');
  });

  it('survives a client that disconnects mid-chunk; the upload resumes from what was stored', async () => {
    const data = randomBytes(60_000);
    const d = sha256(data);
    const loc = await startUpload('library/dropped');
    const port = Number(new URL(w.url).port);
    await new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write(`PATCH ${loc} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${adminAuth}\r\nContent-Length: ${data.length}\r\n\r\n`);
        s.write(data.subarray(0, 25_000), () => setTimeout(() => s.destroy(), 100));
      });
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    let size = -1;
    for (let i = 0; i < 50 && size < 0; i++) {
      const st = await req(loc, { headers: admin });
      assert.equal(st.status, 204);
      const end = Number((st.headers.get('range') ?? '').split('-')[1]);
      if (end > 0) size = end + 1;
      else await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(size > 0 && size <= 25_000, `stored ${size} bytes of the dropped chunk`);
    const rest = await req(loc, { method: 'PATCH', headers: { ...admin, 'content-range': `${size}-${data.length - 1}` }, body: data.subarray(size) });
    assert.equal(rest.status, 202);
    const put = await req(`${loc}?digest=${d}`, { method: 'PUT', headers: admin });
    assert.equal(put.status, 201, 'the digest is computed over the stored bytes (re-hashed after the failed chunk)');
    assert.equal((await req('/v2/', { headers: admin })).status, 200, 'the server is still up');
  });

  it('streams a 20 MiB blob in 5 MiB chunks and reads it back intact', async () => {
    const chunkSize = 5 * 1024 * 1024;
    const piece = randomBytes(64 * 1024);
    const hash = createHash('sha256');
    const chunks = 4;
    for (let i = 0; i < (chunks * chunkSize) / piece.length; i++) hash.update(piece);
    const d = 'sha256:' + hash.digest('hex');
    let loc = await startUpload('library/big');
    for (let c = 0; c < chunks; c++) {
      const gen = async function* () {
        for (let i = 0; i < chunkSize / piece.length; i++) yield piece;
      };
      const start = c * chunkSize;
      // Streamed body: see the casts' note in the chunked-body test above.
      const r = await req(loc, {
        method: 'PATCH',
        headers: { ...admin, 'content-range': `${start}-${start + chunkSize - 1}`, 'content-length': String(chunkSize) },
        body: Readable.toWeb(Readable.from(gen())) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      assert.equal(r.status, 202, await r.text());
      loc = r.headers.get('location') ?? '';
    }
    const put = await req(`${loc}?digest=${d}`, { method: 'PUT', headers: admin });
    assert.equal(put.status, 201);
    const get = await req(`/v2/library/big/blobs/${d}`);
    assert.equal(get.headers.get('content-length'), String(chunks * chunkSize));
    const back = createHash('sha256');
    // A fetch body is async-iterable in Node, which the DOM typing does not say.
    for await (const part of get.body as unknown as AsyncIterable<Uint8Array>) back.update(part);
    assert.equal('sha256:' + back.digest('hex'), d);
    const metrics = await (await req('/metrics', { headers: admin })).text();
    const m = /^wharf_bytes_received_total (\d+)/m.exec(metrics);
    assert.ok(m && Number(m[1]) >= chunks * chunkSize, 'bytes received are counted');
    const n = /^wharf_blob_upload_duration_seconds_count (\d+)/m.exec(metrics);
    assert.ok(n && Number(n[1]) > 0, 'upload durations are observed');
  });

  it('concurrent uploads of the same blob all succeed and store it once', async () => {
    const data = randomBytes(300_000);
    const d = sha256(data);
    const results = await Promise.all([
      ...['a', 'b', 'c'].map((r) => req(`/v2/library/conc-${r}/blobs/uploads/?digest=${d}`, { method: 'POST', headers: admin, body: data })),
      ...[1, 2].map(async () => {
        const loc = await startUpload('library/conc-a');
        const p = await req(loc, { method: 'PATCH', headers: admin, body: data.subarray(0, 100_000) });
        return req(`${p.headers.get('location')}?digest=${d}`, { method: 'PUT', headers: admin, body: data.subarray(100_000) });
      }),
    ]);
    for (const r of results) assert.equal(r.status, 201);
    const rows = await w.wharf.db.kysely.selectFrom('blobs').select('size').where('digest', '=', d).execute();
    assert.deepEqual(rows, [{ size: data.length }]);
    for (const r of ['a', 'b', 'c']) {
      const get = await req(`/v2/library/conc-${r}/blobs/${d}`);
      assert.deepEqual(Buffer.from(await get.arrayBuffer()), data);
    }
  });
});

describe('/v2 unexpected errors', () => {
  it('answer 500 UNKNOWN naming the request id, and the server keeps serving', async () => {
    const w = await startWharf();
    try {
      await ensureProject(w, 'library', true);
      // A real storage fault: a file where the upload folder should be.
      mkdirSync(w.wharf.config.storage.root, { recursive: true });
      writeFileSync(join(w.wharf.config.storage.root, 'uploads'), 'not a folder');
      const r = await fetch(`${w.url}/v2/library/broken/blobs/uploads/`, { method: 'POST', headers: { authorization: adminAuth, 'x-request-id': 'req-500-test' } });
      assert.equal(r.status, 500);
      assert.equal(r.headers.get('x-request-id'), 'req-500-test');
      assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
      const e = await errorOf(r);
      assert.equal(e.code, 'UNKNOWN');
      assert.match(e.message, /req-500-test/);
      assert.doesNotMatch(JSON.stringify(e), /ENOTDIR|EEXIST|not a folder|storage/, 'no internals leak');
      const ok = await fetch(`${w.url}/v2/`, { headers: { authorization: adminAuth } });
      assert.equal(ok.status, 200);
    } finally {
      await w.close();
    }
  });
});

describe('/v2 uploads across a restart', () => {
  it('finishes an upload begun before the restart by re-hashing its bytes', async () => {
    const first = await startWharf();
    const dataDir = first.dataDir;
    await ensureProject(first, 'library', true);
    const data = randomBytes(50_000);
    const d = sha256(data);
    const post = await fetch(`${first.url}/v2/library/restart/blobs/uploads/`, { method: 'POST', headers: { authorization: adminAuth } });
    const loc = post.headers.get('location') ?? '';
    const p = await fetch(first.url + loc, { method: 'PATCH', headers: { authorization: adminAuth }, body: data.subarray(0, 20_000) });
    assert.equal(p.status, 202);
    await first.close({ keepData: true });

    const second = await startWharf({ dataDir });
    try {
      const status = await fetch(second.url + loc, { headers: { authorization: adminAuth } });
      assert.equal(status.headers.get('range'), '0-19999');
      const put = await fetch(`${second.url}${loc}?digest=${d}`, { method: 'PUT', headers: { authorization: adminAuth }, body: data.subarray(20_000) });
      assert.equal(put.status, 201);
      const get = await fetch(`${second.url}/v2/library/restart/blobs/${d}`);
      assert.deepEqual(Buffer.from(await get.arrayBuffer()), data);
    } finally {
      await second.close();
    }
  });
});
