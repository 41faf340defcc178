import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { AddressPolicy } from './address-policy.ts';
import { WebhookHttpClient, type Resolver } from './http-client.ts';

let server: Server;
let base = '';
const sockets = new Set<Socket>();
const hits: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      switch (req.url) {
        case '/ok':
          res.writeHead(200, { 'content-type': 'text/plain', 'x-echo': req.headers['x-test'] ?? '' });
          res.end(`got ${body}`);
          break;
        case '/redirect':
          res.writeHead(302, { location: '/ok' });
          res.end();
          break;
        case '/big':
          res.writeHead(200);
          res.end(Buffer.alloc(1024 * 1024, 'x'));
          break;
        case '/never':
          break; // never answers
        case '/auth':
          res.writeHead(200);
          res.end(req.headers.authorization ?? '');
          break;
        default:
          res.writeHead(404);
          res.end();
      }
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

const port = () => new URL(base).port;

function client(opts: { allowPrivate?: boolean; allowList?: string[]; limit?: number; resolver?: Resolver } = {}) {
  return new WebhookHttpClient({
    policy: new AddressPolicy({ allowPrivate: opts.allowPrivate ?? true, allowList: opts.allowList ?? [] }),
    connections: 4,
    responseBodyLimit: opts.limit ?? 4096,
    resolver: opts.resolver,
  });
}

const send = (c: WebhookHttpClient, url: string, timeoutMs = 2000) =>
  c.send({ url, headers: { 'content-type': 'application/json', 'x-test': 'yes' }, body: '{"a":1}', timeoutMs, skipCertVerify: false });

test('a loopback target answers: status, headers and body are returned', async () => {
  const c = client();
  try {
    const r = await send(c, `${base}/ok`);
    assert.equal(r.error, null);
    assert.equal(r.status, 200);
    assert.equal(r.headers?.['x-echo'], 'yes');
    assert.equal(r.body?.toString(), 'got {"a":1}');
    assert.equal(r.bodyTruncated, false);
  } finally {
    await c.close();
  }
});

test('redirects are not followed: the 3xx comes back as it is', async () => {
  const c = client();
  try {
    hits.length = 0;
    const r = await send(c, `${base}/redirect`);
    assert.equal(r.status, 302);
    assert.equal(r.headers?.location, '/ok');
    assert.deepEqual(hits, ['/redirect']);
  } finally {
    await c.close();
  }
});

test('a target that never answers times out', async () => {
  const c = client();
  try {
    const r = await send(c, `${base}/never`, 300);
    assert.equal(r.status, null);
    assert.equal(r.errorKind, 'timeout');
    assert.match(r.error ?? '', /timed out after 300 ms/);
    assert.ok(r.durationMs >= 250, String(r.durationMs));
  } finally {
    await c.close();
  }
});

test('only responseBodyLimit bytes of a large body are kept', async () => {
  const c = client({ limit: 100 });
  try {
    const r = await send(c, `${base}/big`);
    assert.equal(r.status, 200);
    assert.equal(r.body?.length, 100);
    assert.equal(r.bodyTruncated, true);
    // The client still works afterwards.
    const again = await send(c, `${base}/ok`);
    assert.equal(again.status, 200);
  } finally {
    await c.close();
  }
});

test('metadata and link-local addresses are refused without connecting, even when private targets are allowed', async () => {
  const c = client({ allowPrivate: true, allowList: ['169.254.0.0/16'] });
  try {
    for (const u of ['http://169.254.169.254/latest/meta-data', 'http://[fd00:ec2::254]/', 'http://100.100.100.200/', 'http://169.254.1.1/', 'http://[fe80::1]/', 'http://[::ffff:169.254.169.254]/']) {
      const r = await send(c, u);
      assert.equal(r.errorKind, 'blocked', `${u}: ${r.error}`);
      assert.match(r.error ?? '', /SSRF policy/);
    }
  } finally {
    await c.close();
  }
});

test('a host name that resolves to a metadata address is refused (the check runs on resolved addresses)', async () => {
  const resolver: Resolver = async (h) =>
    h === 'rebind.test' ? [{ address: '127.0.0.1', family: 4 }, { address: '169.254.169.254', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
  const c = client({ resolver });
  try {
    const r = await send(c, `http://rebind.test:${port()}/ok`);
    assert.equal(r.errorKind, 'blocked', String(r.error));
    assert.match(r.error ?? '', /rebind\.test resolves to 169\.254\.169\.254/);
    const ok = await send(c, `http://fine.test:${port()}/ok`);
    assert.equal(ok.status, 200, String(ok.error));
  } finally {
    await c.close();
  }
});

test('private and loopback targets are refused when allow_private_targets is false', async () => {
  const c = client({ allowPrivate: false });
  try {
    const r = await send(c, `${base}/ok`);
    assert.equal(r.errorKind, 'blocked');
    assert.match(r.error ?? '', /private or loopback/);
    const byName = await send(c, `http://localhost:${port()}/ok`);
    assert.equal(byName.errorKind, 'blocked');
  } finally {
    await c.close();
  }
});

test('the allow-list lets chosen private hosts and ranges through', async () => {
  const byCidr = client({ allowPrivate: false, allowList: ['127.0.0.0/8'] });
  const byHost = client({ allowPrivate: false, allowList: ['localhost'] });
  const other = client({ allowPrivate: false, allowList: ['10.0.0.0/8', 'example.internal'] });
  try {
    assert.equal((await send(byCidr, `${base}/ok`)).status, 200);
    const r = await send(byHost, `http://localhost:${port()}/ok`);
    assert.notEqual(r.errorKind, 'blocked', String(r.error));
    assert.equal((await send(other, `${base}/ok`)).errorKind, 'blocked');
  } finally {
    await Promise.all([byCidr.close(), byHost.close(), other.close()]);
  }
});

test('URL userinfo becomes Basic auth; bad URLs and schemes are reported', async () => {
  const c = client();
  try {
    const r = await send(c, `http://u:p%40ss@127.0.0.1:${port()}/auth`);
    assert.equal(r.body?.toString(), `Basic ${Buffer.from('u:p@ss').toString('base64')}`);
    assert.equal((await send(c, 'not a url')).errorKind, 'invalid_url');
    assert.equal((await send(c, 'ftp://127.0.0.1/')).errorKind, 'invalid_url');
    const refused = await send(c, 'http://127.0.0.1:1/');
    assert.equal(refused.errorKind, 'network');
    assert.match(refused.error ?? '', /ECONNREFUSED/);
  } finally {
    await c.close();
  }
});

test('TLS: a self-signed certificate fails unless skip_cert_verify is set', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const tls = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      req.resume();
      req.on('end', () => res.end('secure'));
    });
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()));
    const a = tls.address();
    const url = `https://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/`;
    const c = client();
    try {
      const strict = await c.send({ url, headers: {}, body: '{}', timeoutMs: 3000, skipCertVerify: false });
      assert.equal(strict.status, null);
      assert.equal(strict.errorKind, 'network');
      assert.match(strict.error ?? '', /self[- ]signed|certificate/i);
      const lax = await c.send({ url, headers: {}, body: '{}', timeoutMs: 3000, skipCertVerify: true });
      assert.equal(lax.status, 200, String(lax.error));
      assert.equal(lax.body?.toString(), 'secure');
    } finally {
      await c.close();
      tls.closeAllConnections();
      await new Promise((r) => tls.close(r));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
