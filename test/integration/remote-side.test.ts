/**
 * The remote replication side (src/replication/remote-side.ts) against real registries: Debian's
 * CNCF registry without auth and with htpasswd Basic auth (type `docker-registry`), and a second
 * Wharf (type `harbor`, the Bearer token flow of its /service/token). Blobs go up in one PUT and
 * in PATCH chunks, manifests go up and come back byte for byte, mounts, deletes, tags, the
 * catalog, project creation; wrong credentials, a stopped registry and bytes that do not match
 * their digest give the SideErrors the copy engine relies on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RemoteSide } from '../../src/replication/remote-side.ts';
import { SideError } from '../../src/replication/side.ts';
import type { EndpointAccess } from '../../src/replication/index.ts';
import { cncfSecret, cncfUser, skipWithoutCncf, startCncf, type CncfRegistry } from '../helpers/cncf-registry.ts';
import { adminAuth, adminPassword, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { mediaTypes, sha256 } from '../helpers/oci-layout.ts';

const signal = new AbortController().signal;

function access(type: EndpointAccess['type'], url: string, accessKey = '', accessSecret = ''): EndpointAccess {
  return { type, url, accessKey, accessSecret, insecure: false, caCertificate: null };
}

/** A small image: a config, one layer of random bytes, and its OCI manifest. */
function image(layerSize = 5_000): { config: Buffer; layer: Buffer; manifest: Buffer } {
  const layer = randomBytes(layerSize);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, nonce: randomBytes(8).toString('hex') }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.manifest,
      config: { mediaType: mediaTypes.config, digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  return { config, layer, manifest };
}

async function push(side: RemoteSide, repo: string, tag: string, img: ReturnType<typeof image>, chunkSize?: number): Promise<string> {
  const opts = chunkSize === undefined ? {} : { chunkSize };
  await side.writeBlob(repo, sha256(img.config), img.config.length, Readable.from([img.config]), opts, signal);
  // Several source chunks, so the chunked path has to re-cut them.
  const parts = [img.layer.subarray(0, 1234), img.layer.subarray(1234, 3000), img.layer.subarray(3000)];
  await side.writeBlob(repo, sha256(img.layer), img.layer.length, Readable.from(parts), opts, signal);
  return side.putManifest(repo, tag, mediaTypes.manifest, img.manifest, signal);
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks);
}

async function sideError(p: Promise<unknown>, transient: boolean, pattern?: RegExp): Promise<SideError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SideError, `a SideError, not ${String(err)}`);
    assert.equal(err.transient, transient, `transient should be ${transient}: ${err.message}`);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail('expected a SideError');
}

/** The tests every registry passes; `repo(n)` names a repository the side may write. */
function commonSuite(name: string, get: () => { side: RemoteSide; repo: (n: string) => string; secret: string }, opts: { mounts: boolean }): void {
  describe(name, () => {
    it('pushes in one PUT and reads everything back byte for byte', async () => {
      const { side, repo } = get();
      const r = repo('mono');
      const img = image();
      const digest = await push(side, r, 'v1', img);
      assert.equal(digest, sha256(img.manifest));
      const byTag = await side.getManifest(r, 'v1', signal);
      assert.ok(byTag);
      assert.equal(byTag.digest, digest);
      assert.equal(byTag.mediaType, mediaTypes.manifest);
      assert.deepEqual(byTag.body, img.manifest);
      const byDigest = await side.getManifest(r, digest, signal);
      assert.deepEqual(byDigest?.body, img.manifest);
      assert.deepEqual(await side.headManifest(r, 'v1', signal), { digest, mediaType: mediaTypes.manifest });
      const blob = await side.openBlob(r, sha256(img.layer), signal);
      assert.equal(blob.size, img.layer.length);
      assert.deepEqual(await readAll(blob.stream), img.layer);
      assert.equal(await side.hasBlob(r, sha256(img.layer), signal), true);
      assert.equal(await side.hasBlob(r, sha256(randomBytes(10)), signal), false);
      assert.equal(await side.getManifest(r, 'nope', signal), null);
      assert.equal(await side.headManifest(r, 'nope', signal), null);
      assert.equal(await side.getManifest(repo('unknown'), 'v1', signal), null);
    });

    it('pushes blobs in PATCH chunks', async () => {
      const { side, repo } = get();
      const r = repo('chunked');
      const img = image(10_000);
      const digest = await push(side, r, 'c1', img, 999);
      assert.equal(digest, sha256(img.manifest));
      const blob = await side.openBlob(r, sha256(img.layer), signal);
      assert.equal(blob.size, img.layer.length);
      assert.deepEqual(await readAll(blob.stream), img.layer);
      const cfg = await side.openBlob(r, sha256(img.config), signal);
      assert.deepEqual(await readAll(cfg.stream), img.config);
    });

    it('refuses bytes that do not match the digest, in one PUT and in chunks', async () => {
      const { side, repo } = get();
      const r = repo('bad');
      const bytes = randomBytes(3000);
      const claimed = sha256(randomBytes(3000));
      await sideError(side.writeBlob(r, claimed, bytes.length, Readable.from([bytes]), {}, signal), false);
      await sideError(side.writeBlob(r, claimed, bytes.length, Readable.from([bytes]), { chunkSize: 1000 }, signal), false);
      // Too few bytes for the announced size.
      await sideError(side.writeBlob(r, sha256(bytes), bytes.length + 1, Readable.from([bytes]), {}, signal), false);
      assert.equal(await side.hasBlob(r, claimed, signal), false);
      assert.equal(await side.hasBlob(r, sha256(bytes), signal), false);
    });

    it('refuses a manifest whose blobs are missing, with the registry error in the message', async () => {
      const { side, repo } = get();
      const img = image();
      const e = await sideError(side.putManifest(repo('missing'), 'v1', mediaTypes.manifest, img.manifest, signal), false, /^PUT \/v2\/.+\/manifests\/v1 answered 400 /);
      assert.match(e.message, /MANIFEST_BLOB_UNKNOWN|BLOB_UNKNOWN|MANIFEST_INVALID/);
    });

    it('mounts a blob from another repository, and answers false for an unknown one', async () => {
      const { side, repo } = get();
      const from = repo('mount-src');
      const img = image();
      await push(side, from, 'v1', img);
      const to = repo('mount-dst');
      const mounted = await side.mountBlob(to, sha256(img.layer), from, signal);
      assert.equal(mounted, opts.mounts);
      if (mounted) assert.equal(await side.hasBlob(to, sha256(img.layer), signal), true);
      assert.equal(await side.mountBlob(to, sha256(randomBytes(10)), from, signal), false);
    });

    it('lists tags and repositories, and deletes manifests', async () => {
      const { side, repo } = get();
      const r = repo('tags');
      const img = image();
      const digest = await push(side, r, 'a', img);
      await side.putManifest(r, 'b', mediaTypes.manifest, img.manifest, signal);
      const other = await push(side, r, 'c', image());
      assert.deepEqual((await side.listTags(r, signal)).sort(), ['a', 'b', 'c']);
      assert.deepEqual(await side.listTags(repo('never-pushed'), signal), []);
      const repos = await side.listRepositories(signal);
      assert.ok(repos.includes(r), `${r} in ${repos.join(',')}`);
      assert.ok(repos.includes(repo('mono')), `${repo('mono')} in ${repos.join(',')}`);
      assert.equal(await side.deleteManifest(r, digest, signal), true);
      assert.equal(await side.getManifest(r, digest, signal), null);
      assert.equal(await side.getManifest(r, 'a', signal), null);
      assert.equal(await side.deleteManifest(r, digest, signal), false);
      assert.deepEqual(await side.listTags(r, signal), ['c']);
      assert.ok(await side.getManifest(r, other, signal));
    });

    it('never puts the secret into an error message', async () => {
      const { side, repo, secret } = get();
      const e = await sideError(side.putManifest(repo('missing'), 'v1', mediaTypes.manifest, image().manifest, signal), false);
      if (secret !== '') assert.ok(!e.message.includes(secret) && !e.message.includes(Buffer.from(secret).toString('base64')));
    });
  });
}

describe('RemoteSide against the CNCF registry', { skip: skipWithoutCncf }, () => {
  let open: CncfRegistry;
  let basic: CncfRegistry;
  let openSide: RemoteSide;
  let basicSide: RemoteSide;
  before(async () => {
    open = await startCncf();
    basic = await startCncf({ auth: true });
    openSide = new RemoteSide({ access: access('docker-registry', open.url), label: 'cncf' });
    basicSide = new RemoteSide({ access: access('docker-registry', basic.url, cncfUser, cncfSecret), label: 'cncf-auth' });
  });
  after(async () => {
    await openSide?.close();
    await basicSide?.close();
    await open?.remove();
    await basic?.remove();
  });

  commonSuite('without auth', () => ({ side: openSide, repo: (n) => `lib/${n}`, secret: '' }), { mounts: true });
  commonSuite('with Basic auth', () => ({ side: basicSide, repo: (n) => `lib/${n}`, secret: cncfSecret }), { mounts: true });

  it('names its type and endpoint, and prepares nothing', async () => {
    assert.equal(openSide.type, 'docker-registry');
    assert.equal(openSide.endpoint, open.url);
    assert.equal(openSide.label, 'cncf');
    await openSide.prepareRepository('lib/anything', signal);
  });

  it('wrong or missing credentials are a non-transient error', async () => {
    const wrong = new RemoteSide({ access: access('docker-registry', basic.url, cncfUser, 'Wrong-secret-51ab'), label: 'x' });
    const none = new RemoteSide({ access: access('docker-registry', basic.url), label: 'y' });
    try {
      const e = await sideError(wrong.listTags('lib/mono', signal), false, /answered 401/);
      assert.ok(!e.message.includes('Wrong-secret-51ab'));
      await sideError(none.getManifest('lib/mono', 'v1', signal), false, /answered 401/);
      await sideError(wrong.writeBlob('lib/x', sha256('a'), 1, Readable.from([Buffer.from('a')]), {}, signal), false, /answered 401/);
    } finally {
      await wrong.close();
      await none.close();
    }
  });

  it('a stopped registry is a transient error, and the side works again once it is back', async () => {
    const img = image();
    await push(openSide, 'lib/restart', 'v1', img);
    await open.stop();
    try {
      await sideError(openSide.getManifest('lib/restart', 'v1', signal), true);
      await sideError(openSide.hasBlob('lib/restart', sha256(img.layer), signal), true);
      await sideError(openSide.writeBlob('lib/restart', sha256(img.layer), img.layer.length, Readable.from([img.layer]), {}, signal), true);
    } finally {
      await open.restart();
    }
    assert.equal((await openSide.getManifest('lib/restart', 'v1', signal))?.digest, sha256(img.manifest));
  });

  it('streams a 50 MiB blob up and down without holding it in memory', async () => {
    const size = 50 << 20;
    // The same 1 MiB repeated: the test itself holds 1 MiB, not 50.
    const mib = randomBytes(1 << 20);
    const hash = createHash('sha256');
    for (let i = 0; i < 50; i++) hash.update(mib);
    const digest = 'sha256:' + hash.digest('hex');
    function* source(): Generator<Buffer> {
      for (let i = 0; i < 50; i++) yield mib;
    }
    // Buffers (not RSS, which garbage inflates) at their peak while uploading.
    const base = process.memoryUsage().arrayBuffers;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 2);
    try {
      await openSide.writeBlob('lib/big', digest, size, Readable.from(source()), {}, signal);
    } finally {
      clearInterval(timer);
    }
    assert.ok(peak - base < 20 << 20, `the upload held ${((peak - base) / (1 << 20)).toFixed(1)} MiB`);
    // Opened but not read: only what backpressure lets in may be held.
    const before = process.memoryUsage().arrayBuffers;
    const b = await openSide.openBlob('lib/big', digest, signal);
    await new Promise((r) => setTimeout(r, 500));
    const held = process.memoryUsage().arrayBuffers - before;
    assert.ok(held < 20 << 20, `the unread download held ${(held / (1 << 20)).toFixed(1)} MiB`);
    assert.equal(b.size, size);
    const back = createHash('sha256');
    let n = 0;
    for await (const c of b.stream) {
      const buf = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
      back.update(buf);
      n += buf.length;
    }
    assert.equal(n, size);
    assert.equal('sha256:' + back.digest('hex'), digest);
  });

  it('an aborted signal rejects the call', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop requested'));
    await assert.rejects(openSide.listTags('lib/mono', ac.signal));
  });

});

describe('RemoteSide against a second Wharf (Bearer tokens)', () => {
  let peer: TestWharf;
  let side: RemoteSide;
  before(async () => {
    peer = await startWharf({ sqlite: true });
    side = new RemoteSide({ access: access('harbor', peer.url, 'admin', adminPassword), label: 'peer' });
    await side.prepareRepository('peerproj/first', signal);
  });
  after(async () => {
    await side?.close();
    await peer?.close();
  });

  it('prepareRepository creates the project (private) and accepts one that exists', async () => {
    await side.prepareRepository('made/by-side', signal);
    const res = await fetch(`${peer.url}/api/v2.0/projects/made`, { headers: { authorization: adminAuth } });
    assert.equal(res.status, 200);
    const p = (await res.json()) as { name: string; metadata?: { public?: string } }; // test-only: fields asserted below
    assert.equal(p.name, 'made');
    assert.equal(p.metadata?.public, 'false');
    await side.prepareRepository('made/again', signal);
    const bad = new RemoteSide({ access: access('harbor', peer.url, 'admin', 'Wrong-secret-51ab'), label: 'bad' });
    try {
      await sideError(bad.prepareRepository('other/x', signal), false, /POST \/api\/v2\.0\/projects answered 401/);
    } finally {
      await bad.close();
    }
  });

  commonSuite('common', () => ({ side, repo: (n) => `peerproj/${n}`, secret: adminPassword }), { mounts: true });

  it('wrong credentials and anonymous reads of a private project are non-transient errors', async () => {
    const wrong = new RemoteSide({ access: access('harbor', peer.url, 'admin', 'Wrong-secret-51ab'), label: 'x' });
    const anonymous = new RemoteSide({ access: access('harbor', peer.url), label: 'y' });
    try {
      const e = await sideError(wrong.getManifest('peerproj/mono', 'v1', signal), false, /token service .* answered 401/);
      assert.ok(!e.message.includes('Wrong-secret-51ab'));
      await sideError(anonymous.listTags('peerproj/mono', signal), false, /answered 401/);
    } finally {
      await wrong.close();
      await anonymous.close();
    }
  });
});

/** A real HTTP server on loopback; `handle` answers every request. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void, onStart?: (req: IncomingMessage) => void): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    onStart?.(req);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }; // a TCP server: an AddressInfo
}

/**
 * A small registry with the odd behaviours real ones have: Bearer tokens it can revoke, blob GETs
 * redirected to another host (as registries behind S3 do), paged tag lists, `"tags": null`, a
 * manifest whose bytes do not match its digest, a relative upload Location, 503 and 429, and a
 * PUT that would accept any bytes.
 */
describe('RemoteSide against a registry with odd behaviours', () => {
  const user = 'odd-user';
  const secret = 'Odd-secret-93f2';
  const blob = randomBytes(20_000);
  let registry: { server: Server; url: string };
  let storage: { server: Server; url: string };
  let side: RemoteSide;
  const tokens = new Set<string>();
  const tokenScopes: string[][] = [];
  const storageAuth: Array<string | undefined> = [];
  const puts: Array<{ complete: boolean }> = [];
  const slowHold: ServerResponse[] = [];

  before(async () => {
    storage = await serve((req, res) => {
      storageAuth.push(req.headers.authorization);
      res.writeHead(200, { 'content-length': blob.length }).end(blob);
    });
    registry = await serve((req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token') {
        if (req.headers.authorization !== 'Basic ' + Buffer.from(`${user}:${secret}`).toString('base64')) return void res.writeHead(401).end();
        tokenScopes.push(url.searchParams.getAll('scope'));
        const t = `tok-${tokens.size + tokenScopes.length}`;
        tokens.add(t);
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: t }));
      }
      if (url.pathname === '/slow/v2/r/tags/list') return void slowHold.push(res);
      const auth = req.headers.authorization ?? '';
      if (!tokens.has(auth.replace(/^Bearer /, ''))) {
        return void res.writeHead(401, { 'www-authenticate': `Bearer realm="${registry.url}/token",service="odd"`, 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      }
      const p = url.pathname;
      if (p === '/v2/r/tags/list' && !url.searchParams.has('last')) return void res.writeHead(200, { link: '</v2/r/tags/list?last=b&n=2>; rel="next"' }).end(JSON.stringify({ name: 'r', tags: ['a', 'b'] }));
      if (p === '/v2/r/tags/list') return void res.writeHead(200).end(JSON.stringify({ name: 'r', tags: ['c'] }));
      if (p === '/v2/null/tags/list') return void res.writeHead(200).end(JSON.stringify({ name: 'null', tags: null }));
      if (p === '/v2/busy/tags/list') return void res.writeHead(503).end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'later' }] }));
      if (p === '/v2/limited/tags/list') return void res.writeHead(429).end();
      if (p === '/v2/_catalog') {
        if (url.searchParams.get('last') === null) return void res.writeHead(200, { link: `<${registry.url}/v2/_catalog?last=r&n=1000>; rel="next"` }).end(JSON.stringify({ repositories: ['r'] }));
        return void res.writeHead(200).end(JSON.stringify({ repositories: ['s'] }));
      }
      if (p.startsWith('/v2/r/manifests/')) {
        // Claims to be any digest asked for, but its bytes hash to something else.
        return void res.writeHead(200, { 'content-type': mediaTypes.manifest, 'docker-content-digest': p.split('/').pop() ?? '' }).end('{"schemaVersion":2}');
      }
      if (p === `/v2/r/blobs/${sha256(blob)}`) return void res.writeHead(307, { location: `${storage.url}/bucket/object?X-Amz-Signature=abc` }).end();
      if (p === '/v2/dst/blobs/uploads/' && req.method === 'POST' && url.searchParams.get('from') === 'src') return void res.writeHead(201).end();
      if (p === '/v2/r/blobs/uploads/' && req.method === 'POST') return void res.writeHead(202, { location: '/upload/1?_state=opaque' }).end();
      if (p === '/upload/1' && req.method === 'PUT') {
        return void res.writeHead(201).end();
      }
      if (p === '/upload/1' && req.method === 'DELETE') return void res.writeHead(204).end();
      res.writeHead(404).end();
    }, (req) => {
      // Whether an upload PUT ever received all the bytes it announced, counted as they arrive.
      if (req.method !== 'PUT' || !(req.url ?? '').startsWith('/upload/')) return;
      const entry = { complete: false };
      puts.push(entry);
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        if (n >= Number(req.headers['content-length'])) entry.complete = true;
      });
    });
    side = new RemoteSide({ access: access('docker-registry', registry.url, user, secret), label: 'odd' });
  });
  after(async () => {
    await side?.close();
    for (const r of slowHold) r.destroy();
    registry?.server.closeAllConnections();
    storage?.server.closeAllConnections();
    await new Promise((r) => registry?.server.close(r));
    await new Promise((r) => storage?.server.close(r));
  });

  it('follows Link pages, reads "tags": null as none, and reuses a cached token', async () => {
    const before = tokenScopes.length;
    assert.deepEqual(await side.listTags('r', signal), ['a', 'b', 'c']);
    assert.deepEqual(await side.listTags('r', signal), ['a', 'b', 'c']);
    assert.equal(tokenScopes.length, before + 1, 'one token for the scope, reused');
    assert.deepEqual(tokenScopes.at(-1), ['repository:r:pull']);
    assert.deepEqual(await side.listTags('null', signal), []);
    assert.deepEqual(await side.listRepositories(signal), ['r', 's']);
    assert.deepEqual(tokenScopes.at(-1), ['registry:catalog:*']);
  });

  it('fetches a new token once when the cached one is refused', async () => {
    await side.listTags('r', signal);
    const before = tokenScopes.length;
    tokens.clear();
    assert.deepEqual(await side.listTags('r', signal), ['a', 'b', 'c']);
    assert.equal(tokenScopes.length, before + 1);
  });

  it('asks a mount token for both repositories', async () => {
    await side.mountBlob('dst', sha256(blob), 'src', signal);
    assert.deepEqual(tokenScopes.at(-1), ['repository:dst:pull,push', 'repository:src:pull']);
  });

  it('follows a blob redirect to another host without the Authorization header', async () => {
    const b = await side.openBlob('r', sha256(blob), signal);
    assert.equal(b.size, blob.length);
    assert.deepEqual(await readAll(b.stream), blob);
    assert.deepEqual(storageAuth, [undefined]);
  });

  it('refuses a manifest whose bytes do not hash to the digest asked for', async () => {
    await sideError(side.getManifest('r', sha256('something else'), signal), false, /hashing to/);
  });

  it('does not let a registry that verifies nothing receive all of wrong bytes', async () => {
    const bytes = randomBytes(5000);
    const claimed = sha256(randomBytes(5000));
    const n = puts.length;
    // Slow chunks, so the request is under way before the last bytes are known to be wrong.
    async function* slowly(): AsyncGenerator<Buffer> {
      for (const [a, b] of [[0, 2000], [2000, 4000], [4000, 5000]] as const) {
        await new Promise((r) => setTimeout(r, 50));
        yield bytes.subarray(a, b);
      }
    }
    await sideError(side.writeBlob('r', claimed, bytes.length, Readable.from(slowly()), {}, signal), false, /hash to/);
    await new Promise((r) => setTimeout(r, 200)); // bytes in flight reach the server
    assert.ok(puts.length > n, 'the PUT started');
    assert.ok(puts.slice(n).every((p) => !p.complete), 'no PUT got its whole body');
    // Right bytes go through the relative Location.
    await side.writeBlob('r', sha256(bytes), bytes.length, Readable.from([bytes]), {}, signal);
    assert.equal(puts.at(-1)?.complete, true);
  });

  it('a source stream that fails mid-blob is a transient error', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield randomBytes(1000);
      await new Promise((r) => setTimeout(r, 20));
      throw new Error('the source went away');
    }
    const d = sha256(randomBytes(2000));
    await sideError(side.writeBlob('r', d, 2000, Readable.from(broken()), {}, signal), true, /the source went away/);
    await sideError(side.writeBlob('r', d, 2000, Readable.from(broken()), { chunkSize: 500 }, signal), true, /the source went away/);
  });

  it('5xx and 429 are transient, with the registry error in the message', async () => {
    await sideError(side.listTags('busy', signal), true, /^GET \/v2\/busy\/tags\/list answered 503 UNAVAILABLE: later$/);
    await sideError(side.listTags('limited', signal), true, /answered 429/);
  });

  it('a registry that does not answer times out as a transient error', async () => {
    const slow = new RemoteSide({ access: access('docker-registry', `${registry.url}/slow`), label: 'slow', limits: { timeoutMs: 500 } });
    try {
      const t0 = Date.now();
      await sideError(slow.listTags('r', signal), true);
      assert.ok(Date.now() - t0 < 10_000);
    } finally {
      await slow.close();
    }
  });
});
