/**
 * The built-in scanner's registry client (src/scanning/builtin/registry-client.ts) against a real
 * local HTTP registry that misbehaves on purpose: blob redirects to another origin (no
 * Authorization header sent there) and to the same one (kept), endless redirects, a manifest or
 * blob whose bytes do not match the digest or the size, the token flow for anonymous pulls and
 * for a token service answering only `access_token`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { RegistryClient, RegistryPullError } from '../../src/scanning/builtin/index.ts';
import { OCI_MANIFEST } from '../../src/scanning/adapter/index.ts';
import type { BlobFile } from '../../src/scanning/analyzer/index.ts';

function sha(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

interface Seen {
  host: string;
  path: string;
  auth: string | undefined;
}

type Route = (req: IncomingMessage, res: ServerResponse) => boolean;

async function serve(seen: Seen[], route: () => Route): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    seen.push({ host: req.headers.host ?? '', path: req.url ?? '', auth: req.headers.authorization });
    if (!route()(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, server };
}

/** A blob pulled over HTTP: always a stream (only Wharf's own files, read in-process, come as a BlobFile). */
async function drain(s: NodeJS.ReadableStream | BlobFile): Promise<Buffer> {
  assert.ok(!('handle' in s), 'a blob pulled over HTTP is a stream');
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

describe('the built-in scanner’s registry client', () => {
  const layer = Buffer.from('layer bytes '.repeat(1000));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }] }));
  const digest = sha(manifest);
  const seen: Seen[] = [];
  let registry: { url: string; server: Server };
  let storage: { url: string; server: Server };
  let route: Route = () => false;
  const client = new RegistryClient();

  /** The registry's normal answers; `mutate` changes one. */
  const normal = (opts: { layerBytes?: Buffer; manifestBytes?: Buffer; blobRedirect?: string; requireBearer?: string; tokenBody?: unknown } = {}): Route => (req, res) => {
    const path = req.url ?? '';
    if (path.startsWith('/token')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(opts.tokenBody ?? { token: 'tok-1' }));
      return true;
    }
    if (opts.requireBearer && req.headers.authorization !== `Bearer ${opts.requireBearer}`) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${registry.url}/token",service="reg"` });
      res.end();
      return true;
    }
    if (path === `/v2/a/b/manifests/${digest}`) {
      res.writeHead(200, { 'content-type': OCI_MANIFEST });
      res.end(opts.manifestBytes ?? manifest);
      return true;
    }
    if (path === `/v2/a/b/blobs/${sha(config)}`) {
      res.end(config);
      return true;
    }
    if (path === `/v2/a/b/blobs/${sha(layer)}`) {
      if (opts.blobRedirect) {
        res.writeHead(307, { location: opts.blobRedirect });
        res.end();
        return true;
      }
      res.end(opts.layerBytes ?? layer);
      return true;
    }
    return false;
  };

  before(async () => {
    registry = await serve(seen, () => route);
    storage = await serve(seen, () => (req, res) => {
      if (req.url === '/bucket/layer?sig=1') {
        res.end(layer);
        return true;
      }
      return false;
    });
  });
  after(async () => {
    await client.close();
    for (const s of [registry.server, storage.server]) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  const target = () => ({ url: registry.url, authorization: 'Bearer given', insecure: false });

  it('pulls and verifies; a blob redirect to another origin gets no Authorization header', async () => {
    route = normal({ blobRedirect: `http://localhost:${new URL(storage.url).port}/bucket/layer?sig=1` });
    seen.length = 0;
    const img = await client.openImage(target(), 'a/b', digest);
    assert.deepEqual(img.source.layers, [{ digest: sha(layer), mediaType: 'application/vnd.oci.image.layer.v1.tar', size: layer.length }]);
    assert.equal(img.config.architecture, 'amd64');
    assert.deepEqual(await drain(await img.source.openBlob(sha(layer))), layer);
    assert.deepEqual(
      seen.map((s) => [s.path, s.auth]),
      [
        [`/v2/a/b/manifests/${digest}`, 'Bearer given'],
        [`/v2/a/b/blobs/${sha(config)}`, 'Bearer given'],
        [`/v2/a/b/blobs/${sha(layer)}`, 'Bearer given'],
        ['/bucket/layer?sig=1', undefined],
      ],
    );
  });

  it('a same-origin redirect keeps the header; endless redirects stop', async () => {
    const again = `/v2/a/b/blobs/${sha(layer)}?again`;
    const base = normal({ blobRedirect: again });
    let hops = 0;
    route = (req, res) => {
      if (req.url !== again) return base(req, res);
      hops++;
      res.writeHead(302, { location: again });
      res.end();
      return true;
    };
    seen.length = 0;
    const img = await client.openImage(target(), 'a/b', digest);
    await assert.rejects(img.source.openBlob(sha(layer)), (e: unknown) => e instanceof RegistryPullError && e.message === `GET ${registry.url}/v2/a/b/blobs/${sha(layer)}: too many or empty redirects` && e.status === 302);
    assert.equal(hops, 5);
    assert.ok(seen.filter((s) => s.path.endsWith('?again')).every((s) => s.auth === 'Bearer given'));
  });

  it('refuses a manifest that is not the digest asked for', async () => {
    const other = Buffer.from(manifest.toString().replace('"schemaVersion":2', '"schemaVersion": 2'));
    route = normal({ manifestBytes: other });
    await assert.rejects(client.openImage(target(), 'a/b', digest), (e: unknown) => e instanceof RegistryPullError && e.message === `manifest ${digest} of a/b does not match its digest (got ${sha(other)})`);
  });

  it('a layer with other bytes, fewer bytes or more bytes fails while streaming', async () => {
    const flipped = Buffer.from(layer);
    flipped[10] = 0x21;
    const cases: Array<[Buffer, string]> = [
      [flipped, `blob ${sha(layer)} does not match its digest (got ${sha(flipped)})`],
      [layer.subarray(0, 100), `blob ${sha(layer)} has 100 bytes, its descriptor says ${layer.length}`],
      [Buffer.concat([layer, Buffer.from('x')]), `blob ${sha(layer)} is longer than its descriptor's ${layer.length} bytes`],
    ];
    for (const [bytes, message] of cases) {
      route = normal({ layerBytes: bytes });
      const img = await client.openImage(target(), 'a/b', digest);
      await assert.rejects(drain(await img.source.openBlob(sha(layer))), (e: unknown) => e instanceof RegistryPullError && e.message === message);
    }
  });

  it('anonymous pulls get a token from the realm; `access_token` alone is read too', async () => {
    route = normal({ requireBearer: 'tok-2', tokenBody: { access_token: 'tok-2' } });
    seen.length = 0;
    const img = await client.openImage({ url: registry.url, authorization: '', insecure: false }, 'a/b', digest);
    await drain(await img.source.openBlob(sha(layer)));
    assert.deepEqual(
      seen.map((s) => [s.path, s.auth]),
      [
        [`/v2/a/b/manifests/${digest}`, undefined],
        ['/token?service=reg&scope=repository%3Aa%2Fb%3Apull', undefined],
        [`/v2/a/b/manifests/${digest}`, 'Bearer tok-2'],
        [`/v2/a/b/blobs/${sha(config)}`, 'Bearer tok-2'],
        [`/v2/a/b/blobs/${sha(layer)}`, 'Bearer tok-2'],
      ],
    );
  });

  it('a refused bearer token is not exchanged again', async () => {
    route = normal({ requireBearer: 'something-else' });
    await assert.rejects(client.openImage(target(), 'a/b', digest), (e: unknown) => e instanceof RegistryPullError && e.status === 401 && e.message === `GET ${registry.url}/v2/a/b/manifests/${digest}: the registry answered 401`);
  });
});
