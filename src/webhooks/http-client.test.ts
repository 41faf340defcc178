import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { generateCa, issueServerCertificate, type KeyPairPem } from '../platform/index.ts';
import { AddressPolicy } from './address-policy.ts';
import { maxCaPools, sealedError, WebhookHttpClient, type Resolver } from './http-client.ts';

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
      switch ((req.url ?? '').split('?')[0]) {
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
          // A digest, not the value: the client scrubs the value itself from what it keeps.
          res.writeHead(200);
          res.end(createHash('sha256').update(req.headers.authorization ?? '').digest('hex'));
          break;
        case '/echo':
          // Echoes the request headers (body and a response header), as some receivers do.
          res.writeHead(200, { 'content-type': 'application/json', 'x-echo-auth': req.headers.authorization ?? '' });
          res.end(JSON.stringify({ headers: req.headers, url: req.url }));
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

/** Sends as a target a system admin saved (`trusted`, the default here) or as anyone else's. */
const send = (c: WebhookHttpClient, url: string, timeoutMs = 2000, trusted = true) =>
  c.send({ url, headers: { 'content-type': 'application/json', 'x-test': 'yes' }, body: '{"a":1}', timeoutMs, skipCertVerify: false, trusted });

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

test('private and loopback targets are refused when allow_private_targets is false, unless the request is trusted', async () => {
  const c = client({ allowPrivate: false });
  try {
    const r = await send(c, `${base}/ok`, 2000, false);
    assert.equal(r.errorKind, 'blocked');
    assert.match(r.error ?? '', /private or loopback/);
    const byName = await send(c, `http://localhost:${port()}/ok`, 2000, false);
    assert.equal(byName.errorKind, 'blocked');
    assert.doesNotMatch(byName.error ?? '', /127\.0\.0\.1|::1/, 'a name\'s private address is not disclosed');
    const trusted = await send(c, `${base}/ok`);
    assert.equal(trusted.status, 200, String(trusted.error));
    assert.equal(trusted.body?.toString(), 'got {"a":1}');
    // The trusted connection is not reused for an untrusted request to the same origin.
    assert.equal((await send(c, `${base}/ok`, 2000, false)).errorKind, 'blocked');
  } finally {
    await c.close();
  }
});

test('the allow-list lets chosen private hosts and ranges through', async () => {
  const byCidr = client({ allowPrivate: false, allowList: ['127.0.0.0/8'] });
  const byHost = client({ allowPrivate: false, allowList: ['localhost'] });
  const other = client({ allowPrivate: false, allowList: ['10.0.0.0/8', 'example.internal'] });
  try {
    assert.equal((await send(byCidr, `${base}/ok`, 2000, false)).status, 200);
    const r = await send(byHost, `http://localhost:${port()}/ok`, 2000, false);
    assert.notEqual(r.errorKind, 'blocked', String(r.error));
    assert.equal((await send(other, `${base}/ok`, 2000, false)).errorKind, 'blocked');
  } finally {
    await Promise.all([byCidr.close(), byHost.close(), other.close()]);
  }
});

test('URL userinfo becomes Basic auth; bad URLs and schemes are reported', async () => {
  const c = client();
  try {
    const r = await send(c, `http://u:p%40ss@127.0.0.1:${port()}/auth`);
    assert.equal(r.body?.toString(), createHash('sha256').update(`Basic ${Buffer.from('u:p@ss').toString('base64')}`).digest('hex'));
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
      const strict = await c.send({ url, headers: {}, body: '{}', timeoutMs: 3000, skipCertVerify: false, trusted: true });
      assert.equal(strict.status, null);
      assert.equal(strict.errorKind, 'network');
      assert.match(strict.error ?? '', /self[- ]signed|certificate/i);
      const lax = await c.send({ url, headers: {}, body: '{}', timeoutMs: 3000, skipCertVerify: true, trusted: true });
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

/** An HTTPS server on 127.0.0.1 with a certificate a fresh private CA signed; counts its open connections. */
async function privateCaServer(): Promise<{ ca: KeyPairPem; url: string; open: () => number; accepted: () => number; close: () => Promise<void> }> {
  const now = new Date();
  const ca = await generateCa('webhook receiver test CA', now, 1);
  const leaf = await issueServerCertificate(ca, ['127.0.0.1'], now, 1);
  const conns = new Set<Socket>();
  let accepted = 0;
  const tls = createHttpsServer({ key: leaf.key, cert: leaf.cert }, (req, res) => {
    req.resume();
    req.on('end', () => res.end('private ca'));
  });
  tls.on('secureConnection', (s: Socket) => {
    accepted++;
    conns.add(s);
    s.on('close', () => conns.delete(s));
  });
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()));
  const a = tls.address();
  return {
    ca,
    url: `https://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/`,
    open: () => conns.size,
    accepted: () => accepted,
    close: async () => {
      tls.closeAllConnections();
      await new Promise((r) => tls.close(r));
    },
  };
}

test('TLS: a target\'s own CA (ca_cert) is trusted for that target only; a wrong CA fails; skip_cert_verify ignores it', async () => {
  const srv = await privateCaServer();
  const other = await generateCa('some other CA', new Date(), 1);
  const c = client();
  const post = (caCert: string | null, skipCertVerify = false, trusted = true) => c.send({ url: srv.url, headers: {}, body: '{}', timeoutMs: 3000, skipCertVerify, caCert, trusted });
  try {
    const without = await post(null);
    assert.equal(without.status, null);
    assert.equal(without.errorKind, 'network');
    assert.match(without.error ?? '', /certificate/i, String(without.error));
    const withCa = await post(srv.ca.cert);
    assert.equal(withCa.status, 200, String(withCa.error));
    assert.equal(withCa.body?.toString(), 'private ca');
    // In a bundle with another CA, as a PEM file often holds several.
    assert.equal((await post(`${other.cert}${srv.ca.cert}`)).status, 200);
    const wrong = await post(other.cert);
    assert.equal(wrong.status, null);
    assert.match(wrong.error ?? '', /certificate/i, String(wrong.error));
    // The CA trusted for one target is not trusted for the next one without it (separate pools).
    assert.equal((await post(null)).status, null);
    const lax = await post(other.cert, true);
    assert.equal(lax.status, 200, String(lax.error));
  } finally {
    await c.close();
    await srv.close();
  }
});

test('TLS: a target\'s CA does not lift the address policy or the sealing of private answers', async () => {
  const srv = await privateCaServer();
  try {
    const refused = client({ allowPrivate: false });
    try {
      const r = await refused.send({ url: srv.url, headers: {}, body: '{}', timeoutMs: 3000, skipCertVerify: false, caCert: srv.ca.cert, trusted: false });
      assert.equal(r.errorKind, 'blocked', String(r.error));
    } finally {
      await refused.close();
    }
    const sealedClient = client({ allowPrivate: false, allowList: ['127.0.0.0/8'] });
    try {
      const ok = await sealedClient.send({ url: srv.url, headers: {}, body: '{}', timeoutMs: 3000, skipCertVerify: false, caCert: srv.ca.cert, trusted: false });
      assert.equal(ok.status, 200, String(ok.error));
      assert.equal(ok.body?.length, 0, 'an untrusted answer from a private address keeps its status only');
      const bad = await sealedClient.send({ url: srv.url, headers: {}, body: '{}', timeoutMs: 3000, skipCertVerify: false, caCert: null, trusted: false });
      assert.equal(bad.error, sealedError, 'a certificate failure at a private address is sealed like any other');
    } finally {
      await sealedClient.close();
    }
  } finally {
    await srv.close();
  }
});

test('TLS: pools of targets with their own CA are capped; the least recently used is closed with its connections', async () => {
  const srv = await privateCaServer();
  const cap = 3;
  const c = new WebhookHttpClient({ policy: new AddressPolicy({ allowPrivate: true, allowList: [] }), connections: 4, responseBodyLimit: 4096, caPools: cap });
  const post = (caCert: string) => c.send({ url: srv.url, headers: {}, body: '{}', timeoutMs: 3000, skipCertVerify: false, caCert, trusted: true });
  try {
    assert.equal(maxCaPools, 32, 'the default cap');
    // Every bundle trusts the receiver's CA plus one CA of its own: a distinct pool each.
    const extra = await Promise.all(Array.from({ length: cap + 3 }, (_, i) => generateCa(`filler ${i}`, new Date(), 1)));
    const bundles = extra.map((e) => `${e.cert}${srv.ca.cert}`);
    for (const b of bundles) {
      assert.equal((await post(b)).status, 200);
      assert.ok(c.caPoolCount <= cap, String(c.caPoolCount));
    }
    assert.equal(srv.accepted(), cap + 3, 'one connection per pool');
    // The evicted pools closed their keep-alive connections (well before the 4 s idle timeout).
    const deadline = Date.now() + 2000;
    while (srv.open() > cap && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(srv.open(), cap, 'one open connection per kept pool');
    // An evicted CA's target is served again by a new pool, still within the cap.
    assert.equal((await post(bundles[0] ?? '')).status, 200);
    assert.equal(c.caPoolCount, cap);
  } finally {
    await c.close();
    await srv.close();
  }
});

test('answers from a private address to an untrusted request are sealed: status only, one error text for every failure', async () => {
  const c = client({ allowPrivate: false, allowList: ['127.0.0.0/8'] });
  try {
    const ok = await send(c, `${base}/ok`, 2000, false);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.headers, {});
    assert.equal(ok.body?.length, 0, 'no response body');
    const closed = await send(c, 'http://127.0.0.1:1/', 2000, false);
    const silent = await send(c, `${base}/never`, 300, false);
    assert.equal(closed.status, null);
    assert.equal(closed.error, sealedError);
    assert.equal(silent.error, sealedError, 'a timeout reads like a closed port');
    // The same requests, trusted, tell the truth.
    assert.match((await send(c, 'http://127.0.0.1:1/')).error ?? '', /ECONNREFUSED/);
    assert.equal((await send(c, `${base}/ok`)).body?.toString(), 'got {"a":1}');
  } finally {
    await c.close();
  }
});

test('secrets the request carried are scrubbed from the kept response headers and body', async () => {
  const c = client({ limit: 100_000 });
  try {
    const headers = { 'content-type': 'application/json', authorization: 'Bearer s3cr3t-t0ken', 'x-api-key': 'k3y "quoted" value', 'x-team': 'platform' };
    const redactedHeaders = { ...headers, authorization: '<redacted>', 'x-api-key': '<redacted>', 'x-team': '<redacted>' };
    const r = await c.send({ url: `http://user:pa55word@127.0.0.1:${port()}/echo?token=qu3ry-t0ken&x=1`, headers, redactedHeaders, body: '{}', timeoutMs: 2000, skipCertVerify: false, trusted: true });
    assert.equal(r.status, 200, String(r.error));
    const text = r.body?.toString() ?? '';
    for (const secret of ['s3cr3t-t0ken', 'k3y', 'platform', 'qu3ry-t0ken']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.match(text, /"authorization":"<redacted>"/);
    assert.match(text, /token=<redacted>/);
    assert.equal(r.headers?.['x-echo-auth'], '<redacted>');
    assert.ok(text.includes('"content-type":"application/json"'), 'other headers are kept');
    // Basic auth built from the URL's userinfo: neither the header nor the password survives.
    const basic = await c.send({ url: `http://user:pa55word@127.0.0.1:${port()}/echo`, headers: {}, body: '{}', timeoutMs: 2000, skipCertVerify: false, trusted: true });
    const b = basic.body?.toString() ?? '';
    assert.ok(!b.includes(Buffer.from('user:pa55word').toString('base64')) && !b.includes('pa55word'), b);
  } finally {
    await c.close();
  }
});

test('a secret cut by the body limit leaves no prefix behind', async () => {
  const c = client({ limit: 4096 });
  try {
    // The echoed JSON is cut inside the Authorization value (padded to cross the limit).
    const token = 'T'.repeat(8) + 'Z'.repeat(8000);
    const r = await c.send({ url: `${base}/echo`, headers: { authorization: token }, body: '{}', timeoutMs: 2000, skipCertVerify: false, trusted: true });
    assert.equal(r.bodyTruncated, true);
    const text = r.body?.toString() ?? '';
    assert.ok(!text.includes('TTTTTTTT'), text.slice(-80));
    assert.ok(text.endsWith('<redacted>'), text.slice(-80));
  } finally {
    await c.close();
  }
});
