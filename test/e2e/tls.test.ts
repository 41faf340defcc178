/**
 * End-to-end: Wharf serving HTTPS (docs/tls.md) to real clients, the way the Harbor walk-through
 * sets it up: `tls.auto` makes a private CA, the client downloads it from
 * /api/v2.0/systeminfo/getcert and trusts it (skopeo --dest-cert-dir/--src-cert-dir, podman
 * --cert-dir, openssl s_client -CAfile); never --tls-verify=false. Also: a wrong CA is refused,
 * cert_file/key_file replaced on disk are served without a restart, HTTP/2 over ALPN, the plain
 * HTTP redirect port, and renewal with the same CA.
 */
// run-tests: sqlite pass only (the subject is the TLS listener, which no query reaches).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { connect as h2connect } from 'node:http2';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { adminAuth, freePort, spawnWharf, tempDataDir, type SpawnedWharf } from '../helpers/wharf.ts';
import { dropDatabaseOf } from '../helpers/db.ts';
import { adminCreds, describeRun, requireSkopeo, skipWithoutSkopeo, skopeo, skopeoOk } from '../helpers/skopeo.ts';
import { OciLayout, readLayoutIndex, writeMultiLayerImage, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { generateCa, issueServerCertificate } from '../../src/platform/index.ts';

const skip = skipWithoutSkopeo();
const timeout = 240_000;

/** A folder holding one `ca.crt`: what --cert-dir, --dest-cert-dir and /etc/docker/certs.d/<host>/ take. */
function certDir(base: string, name: string, pem: string): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ca.crt'), pem);
  return dir;
}

/** Runs a command; resolves with its exit code and output (never throws for a non-zero exit). */
function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: `$ ${cmd} ${args.join(' ')}\n${out}` });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** The serial number of the certificate a new TLS connection to `port` is served (verified against `ca`). */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.end();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

/** GET over a fresh TLS connection verified against `ca`. */
async function getVerified(url: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const agent = new Agent({ connect: { ca, servername: 'localhost' } });
  try {
    const r = await undiciFetch(url, { dispatcher: agent, headers });
    return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
  } finally {
    await agent.close();
  }
}

/** Downloads the CA as a first-time client does: the certificate is not trusted yet, so it is not verified for this one request. */
async function downloadCa(w: SpawnedWharf): Promise<{ status: number; type: string | null; disposition: string | null; pem: string }> {
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    const r = await undiciFetch(`${w.url}/api/v2.0/systeminfo/getcert`, { dispatcher: agent });
    return { status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), pem: await r.text() };
  } finally {
    await agent.close();
  }
}

/** Spawns `wharf serve` over TLS; stopped and its data removed after the test. */
async function spawnTls(t: { after(fn: () => Promise<void>): void }, dataDir: string, env: Record<string, string>, keepData = false): Promise<SpawnedWharf> {
  const port = await freePort();
  const w = await spawnWharf({ dataDir, port, https: true, env: { WHARF_EXTERNAL_URL: `https://localhost:${port}`, ...env } });
  t.after(async () => {
    await w.stop();
    if (!keepData) {
      rmSync(dataDir, { recursive: true, force: true });
      await dropDatabaseOf(dataDir);
    }
  });
  return w;
}

const portOf = (w: SpawnedWharf): number => Number(new URL(w.url).port);

/** A stand-in HTTPS registry (`GET /v2/` answers 200) with a certificate from `ca`; `hits` counts requests. */
async function httpsRegistry(t: { after(fn: () => Promise<void>): void }, ca: { cert: string; key: string }): Promise<{ url: string; ca: string; hits(): number }> {
  const pair = await issueServerCertificate(ca, ['localhost', '127.0.0.1'], new Date(), 10);
  let hits = 0;
  const server = createHttpsServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `https://localhost:${port}`, ca: ca.cert, hits: () => hits };
}

test('e2e: tls.auto: the CA from getcert verifies skopeo, podman, openssl and HTTP/2; a wrong CA is refused; plain HTTP redirects', { skip, timeout }, async (t) => {
  requireSkopeo();
  const dataDir = tempDataDir('wharf-tls-auto-');
  const redirectPort = await freePort();
  const w = await spawnTls(t, dataDir, { WHARF_TLS__AUTO: 'true', WHARF_TLS__HTTP2: 'true', WHARF_TLS__REDIRECT_PORT: String(redirectPort), WHARF_TLS__ALT_NAMES: 'registry.example.test,10.1.2.3' });
  const port = portOf(w);
  const work = tempDataDir('wharf-tls-client-');
  t.after(() => rmSync(work, { recursive: true, force: true }));

  // The walk-through's first step: download ca.crt. It is the CA kept in the data folder, as a file download.
  const got = await downloadCa(w);
  assert.equal(got.status, 200);
  assert.equal(got.type, 'application/octet-stream');
  assert.equal(got.disposition, 'attachment; filename=ca.crt');
  assert.equal(got.pem, readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8'));
  const ca = new X509Certificate(got.pem);
  assert.ok(ca.ca, 'getcert serves a CA certificate');
  // Keys are private to the owner.
  for (const key of ['ca.key', 'server.key']) {
    assert.equal(statSync(join(dataDir, 'tls', key)).mode & 0o777, 0o600, `${key} is mode 0600`);
  }
  const served = new X509Certificate(readFileSync(join(dataDir, 'tls', 'server.crt'), 'utf8'));
  assert.ok(served.verify(ca.publicKey), 'the served certificate is signed by the downloaded CA');
  for (const name of ['DNS:localhost', 'DNS:registry.example.test', 'IP Address:10.1.2.3', 'IP Address:127.0.0.1']) assert.ok(served.subjectAltName?.includes(name), `${name} in ${served.subjectAltName}`);

  // /systeminfo says a CA can be downloaded (Harbor: a CA and an https external_url).
  const info = await getVerified(`${w.url}/api/v2.0/systeminfo`, got.pem, { authorization: adminAuth });
  assert.equal(info.status, 200);
  assert.equal((JSON.parse(info.body.toString()) as { has_ca_root: boolean }).has_ca_root, true);

  const good = certDir(work, 'good', got.pem);
  const otherCa = await generateCa('Some other CA', new Date(), 30);
  const wrong = certDir(work, 'wrong', otherCa.cert);

  // skopeo push and pull with the CA in a cert dir (skopeo speaks HTTP/1.1 even when h2 is offered).
  const src = OciLayout.create(join(work, 'src'));
  const image = await writeMultiLayerImage(src, 'v1', { totalMiB: 3, layers: 3 });
  const remote = `docker://localhost:${port}/library/tls-auto:v1`;
  await skopeoOk(['copy', '--quiet', '--dest-cert-dir', good, '--dest-creds', adminCreds, src.ref('v1'), remote]);
  const out = OciLayout.create(join(work, 'out'));
  await skopeoOk(['copy', '--quiet', '--src-cert-dir', good, '--src-no-creds', remote, out.ref('pulled')]);
  assert.equal(readLayoutIndex(out.dir)[0]?.digest, image.manifest.digest, 'the pulled manifest is the pushed one');

  // A wrong CA, and no CA at all, are refused.
  for (const args of [['--cert-dir', wrong], []]) {
    const r = await skopeo(['inspect', '--raw', ...args, '--creds', adminCreds, remote]);
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, /x509|certificate/i, describeRun(r));
  }

  // openssl s_client shows the chain (server, then CA) and verifies it with the CA.
  const ok = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', join(good, 'ca.crt'), '-showcerts'], { timeoutMs: 20_000 });
  assert.match(ok.out, /^ 0 s:\s*CN\s*=\s*localhost/m, ok.out);
  assert.match(ok.out, /^ 1 s:\s*CN\s*=\s*Wharf CA/m, ok.out);
  assert.equal(ok.out.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2, ok.out);
  assert.match(ok.out, /Verify return code: 0 \(ok\)/, ok.out);
  const bad = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', join(wrong, 'ca.crt'), '-verify_return_error'], { timeoutMs: 20_000 });
  assert.doesNotMatch(bad.out, /Verify return code: 0 \(ok\)/, bad.out);

  // HTTP/2 over ALPN (node:http2): the registry's base route and the Harbor API answer.
  const session = h2connect(`https://localhost:${port}`, { ca: got.pem });
  t.after(() => session.close());
  const h2get = (path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = session.request({ ':path': path, authorization: adminAuth });
      let status = 0;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => resolve({ status, body }));
      req.on('error', reject);
      req.end();
    });
  assert.equal((await h2get('/v2/')).status, 200);
  assert.equal(session.alpnProtocol, 'h2');
  const tags = await h2get('/v2/library/tls-auto/tags/list');
  assert.equal(tags.status, 200, tags.body);
  assert.deepEqual((JSON.parse(tags.body) as { tags: string[] }).tags, ['v1']);
  // A blob upload streamed over HTTP/2: POST, a PATCH body sent in chunks, PUT with the digest, HEAD.
  const h2 = (headers: Record<string, string>, chunks: Buffer[] = []): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> =>
    new Promise((resolve, reject) => {
      const req = session.request({ authorization: adminAuth, ...headers });
      let status = 0;
      let got: Record<string, string | string[] | undefined> = {};
      let body = '';
      req.on('response', (h) => {
        status = Number(h[':status']);
        got = h;
      });
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => resolve({ status, headers: got, body }));
      req.on('error', reject);
      const next = (i: number): void => {
        if (i === chunks.length) {
          req.end();
          return;
        }
        req.write(chunks[i], () => setTimeout(() => next(i + 1), 5));
      };
      next(0);
    });
  const chunks = Array.from({ length: 32 }, (_, i) => Buffer.alloc(64 * 1024, i));
  const blobDigest = `sha256:${createHash('sha256').update(Buffer.concat(chunks)).digest('hex')}`;
  const started = await h2({ ':method': 'POST', ':path': '/v2/library/tls-h2/blobs/uploads/' });
  assert.equal(started.status, 202, started.body);
  const location = String(started.headers.location);
  const patched = await h2({ ':method': 'PATCH', ':path': location, 'content-type': 'application/octet-stream' }, chunks);
  assert.equal(patched.status, 202, patched.body);
  const next = new URL(String(patched.headers.location), w.url);
  next.searchParams.set('digest', blobDigest);
  const put = await h2({ ':method': 'PUT', ':path': `${next.pathname}${next.search}`, 'content-length': '0' });
  assert.equal(put.status, 201, put.body);
  const head = await h2({ ':method': 'HEAD', ':path': `/v2/library/tls-h2/blobs/${blobDigest}` });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String(32 * 64 * 1024));

  // HTTP/1.1 still answers on the same port (a client that offers no ALPN, as node:https).
  const h1 = await new Promise<{ status: number; version: string }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/v2/', servername: 'localhost', ca: got.pem, headers: { authorization: adminAuth }}, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, version: res.httpVersion });
    });
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual(h1, { status: 200, version: '1.1' });

  // Plain HTTP on the redirect port: 308 to the same path on external_url.
  const redirect = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: redirectPort, path: '/v2/library/tls-auto/tags/list?n=1' }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, location: res.headers.location });
    });
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual(redirect, { status: 308, location: `https://localhost:${port}/v2/library/tls-auto/tags/list?n=1` });

  // podman (daemonless, as root) with its own storage: push and pull with --cert-dir.
  const podmanRoot = join(work, 'podman');
  const podmanEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, XDG_RUNTIME_DIR: join(work, 'run'), REGISTRY_AUTH_FILE: join(work, 'auth.json') };
  writeFileSync(join(work, 'auth.json'), '{"auths":{}}');
  const podman = (args: string[]) => run('podman', ['--root', join(podmanRoot, 'root'), '--runroot', join(podmanRoot, 'runroot'), '--storage-driver', 'vfs', ...args], { env: podmanEnv, timeoutMs: 120_000 });
  // Pull what skopeo pushed (a wrong CA refused first), then push it to another repository.
  const refused = await podman(['pull', '--cert-dir', wrong, `localhost:${port}/library/tls-auto:v1`]);
  assert.notEqual(refused.code, 0, refused.out);
  assert.match(refused.out, /x509|certificate/i, refused.out);
  const pulled = await podman(['pull', '-q', '--cert-dir', good, `localhost:${port}/library/tls-auto:v1`]);
  assert.equal(pulled.code, 0, pulled.out);
  const id = pulled.out.trim().split('\n').pop() ?? '';
  const target = `localhost:${port}/library/tls-podman:v1`;
  const pushed = await podman(['push', '--cert-dir', good, '--creds', adminCreds, id, target]);
  assert.equal(pushed.code, 0, pushed.out);
  const listed = await getVerified(`${w.url}/v2/library/tls-podman/tags/list`, got.pem, { authorization: adminAuth });
  assert.deepEqual((JSON.parse(listed.body.toString()) as { tags: string[] }).tags, ['v1']);

  // The built-in scanner is called at Wharf's https address and pulls the image from it, trusting Wharf's CA.
  const api = new Agent({ connect: { ca: got.pem, servername: 'localhost' } });
  t.after(() => api.close());
  const scan = await undiciFetch(`${w.url}/api/v2.0/projects/library/repositories/tls-auto/artifacts/v1/scan`, { method: 'POST', dispatcher: api, headers: { authorization: adminAuth } });
  assert.equal(scan.status, 202, await scan.text());
  let status = '';
  for (const deadline = Date.now() + 60_000; status !== 'Success' && status !== 'Error' && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 250));
    const a = await undiciFetch(`${w.url}/api/v2.0/projects/library/repositories/tls-auto/artifacts/v1?with_scan_overview=true`, { dispatcher: api, headers: { authorization: adminAuth } });
    const overview = ((await a.json()) as { scan_overview?: Record<string, { scan_status: string }> }).scan_overview ?? {};
    status = Object.values(overview)[0]?.scan_status ?? '';
  }
  assert.equal(status, 'Success', `the built-in scan over TLS ended ${status || 'never'}:\n${w.output().slice(-3000)}`);
});

test('e2e: tls cert_file/key_file replaced on disk are served to new connections without a restart; open ones keep working', { skip, timeout }, async (t) => {
  requireSkopeo();
  const dataDir = tempDataDir('wharf-tls-files-');
  const certs = join(dataDir, 'certs');
  mkdirSync(certs, { recursive: true });
  const ca = await generateCa('Files test CA', new Date(), 30);
  const first = await issueServerCertificate(ca, ['localhost', '127.0.0.1'], new Date(), 10);
  writeFileSync(join(certs, 'ca.crt'), ca.cert);
  writeFileSync(join(certs, 'server.crt'), first.cert);
  writeFileSync(join(certs, 'server.key'), first.key, { mode: 0o600 });
  // Two HTTPS registries for replication: one whose CA is in tls.trusted_ca_files, one whose CA is not.
  const trustedRemote = await httpsRegistry(t, await generateCa('Trusted remote CA', new Date(), 30));
  const untrustedRemote = await httpsRegistry(t, await generateCa('Untrusted remote CA', new Date(), 30));
  writeFileSync(join(certs, 'remote-ca.crt'), trustedRemote.ca);
  const w = await spawnTls(t, dataDir, { WHARF_TLS__CERT_FILE: join(certs, 'server.crt'), WHARF_TLS__KEY_FILE: join(certs, 'server.key'), WHARF_TLS__CA_FILE: join(certs, 'ca.crt'), WHARF_TLS__TRUSTED_CA_FILES: join(certs, 'remote-ca.crt') });
  const port = portOf(w);

  // Outgoing HTTPS trusts the system roots plus tls.trusted_ca_files: the registry ping reaches the trusted remote only.
  const ping = async (url: string) => {
    const agent = new Agent({ connect: { ca: ca.cert, servername: 'localhost' } });
    try {
      const r = await undiciFetch(`${w.url}/api/v2.0/registries/ping`, { method: 'POST', dispatcher: agent, headers: { authorization: adminAuth, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'docker-registry', url, insecure: false }) });
      return { status: r.status, body: await r.text() };
    } finally {
      await agent.close();
    }
  };
  const trustedPing = await ping(trustedRemote.url);
  assert.equal(trustedPing.status, 200, trustedPing.body);
  assert.ok(trustedRemote.hits() > 0, 'the trusted remote was called');
  const untrustedPing = await ping(untrustedRemote.url);
  assert.equal(untrustedPing.status, 400, untrustedPing.body);
  assert.equal(untrustedRemote.hits(), 0, 'no request reached the remote whose certificate is not trusted');

  // getcert offers tls.ca_file.
  const got = await downloadCa(w);
  assert.equal(got.status, 200);
  assert.equal(got.pem, ca.cert);
  const firstSerial = new X509Certificate(first.cert).serialNumber;
  assert.equal(await servedSerial(port, ca.cert), firstSerial);

  // A keep-alive connection opened before the change.
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: ca.cert, servername: 'localhost' });
  t.after(() => agent.destroy());
  const viaAgent = (): Promise<{ status: number; reused: boolean; serial: string }> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/api/v2.0/ping', agent }, (res) => {
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, serial }));
      });
      req.on('error', reject);
      req.end();
    });
  assert.equal((await viaAgent()).status, 200);

  // Replace the pair the way cert-manager and most tools do: write aside, rename over.
  const second = await issueServerCertificate(ca, ['localhost', '127.0.0.1'], new Date(), 20);
  const secondSerial = new X509Certificate(second.cert).serialNumber;
  assert.notEqual(secondSerial, firstSerial);
  writeFileSync(join(certs, 'server.key.new'), second.key, { mode: 0o600 });
  writeFileSync(join(certs, 'server.crt.new'), second.cert);
  renameSync(join(certs, 'server.key.new'), join(certs, 'server.key'));
  renameSync(join(certs, 'server.crt.new'), join(certs, 'server.crt'));
  let serial = firstSerial;
  for (const deadline = Date.now() + 10_000; serial !== secondSerial && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 100));
    serial = await servedSerial(port, ca.cert);
  }
  assert.equal(serial, secondSerial, 'a new connection gets the new certificate');
  const again = await viaAgent();
  assert.deepEqual(again, { status: 200, reused: true, serial: firstSerial }, 'the connection opened before the change still answers, on its certificate');
  assert.equal(w.proc.exitCode, null, 'no restart');

  // HTTP/1.1 over TLS (tls.http2 off): skopeo push and pull with the CA file from getcert.
  const work = tempDataDir('wharf-tls-files-client-');
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const dir = certDir(work, 'ca', got.pem);
  const src = OciLayout.create(join(work, 'src'));
  const image = await writeSingleLayerImage(src, 'v1');
  const remote = `docker://localhost:${port}/library/tls-files:v1`;
  await skopeoOk(['copy', '--quiet', '--dest-cert-dir', dir, '--dest-creds', adminCreds, src.ref('v1'), remote]);
  const out = OciLayout.create(join(work, 'out'));
  await skopeoOk(['copy', '--quiet', '--src-cert-dir', dir, '--src-no-creds', remote, out.ref('pulled')]);
  assert.equal(readLayoutIndex(out.dir)[0]?.digest, image.manifest.digest);
});

test('e2e: tls.auto renews a certificate near expiry with the same CA; getcert answers 404 without a CA', { skip, timeout }, async (t) => {
  requireSkopeo();
  const dataDir = tempDataDir('wharf-tls-renew-');
  t.after(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await dropDatabaseOf(dataDir);
  });
  // First start: a 10-day certificate.
  const first = await spawnTls(t, dataDir, { WHARF_TLS__AUTO: 'true', WHARF_TLS__VALIDITY_DAYS: '10', WHARF_TLS__RENEW_BEFORE_DAYS: '5' }, true);
  const caPem = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
  const before = await servedSerial(portOf(first), caPem);
  await first.stop();
  // Second start: with 20 days' notice the 10-day certificate is due; a 30-day one replaces it, from the same CA.
  const second = await spawnTls(t, dataDir, { WHARF_TLS__AUTO: 'true', WHARF_TLS__VALIDITY_DAYS: '30', WHARF_TLS__RENEW_BEFORE_DAYS: '20' }, true);
  assert.equal(readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8'), caPem, 'the CA is kept');
  const after = await servedSerial(portOf(second), caPem); // verified against the old CA
  assert.notEqual(after, before, 'a new certificate is served');
  const renewed = new X509Certificate(readFileSync(join(dataDir, 'tls', 'server.crt'), 'utf8'));
  assert.equal(renewed.serialNumber, after);
  const daysLeft = (new Date(renewed.validTo).getTime() - Date.now()) / 86_400_000;
  assert.ok(daysLeft > 28 && daysLeft <= 30, `about 30 days left: ${daysLeft}`);
  assert.match(second.output(), /tls\.auto: issued the server certificate.*fewer than 20 days left|fewer than 20 days left.*issued/);
  await second.stop();

  // Plain HTTP, no CA: Harbor's 404 NOT_FOUND.
  const plainDir = tempDataDir('wharf-tls-none-');
  const plain = await spawnWharf({ dataDir: plainDir });
  t.after(async () => {
    await plain.stop();
    rmSync(plainDir, { recursive: true, force: true });
    await dropDatabaseOf(plainDir);
  });
  const r = await fetch(`${plain.url}/api/v2.0/systeminfo/getcert`);
  assert.equal(r.status, 404);
  const body = (await r.json()) as { errors: Array<{ code: string; message: string }> };
  assert.equal(body.errors[0]?.code, 'NOT_FOUND');
  assert.match(body.errors[0]?.message ?? '', /^cert not found in path: .*ca\.crt$/);
  const info = (await (await fetch(`${plain.url}/api/v2.0/systeminfo`)).json()) as { has_ca_root: boolean };
  assert.equal(info.has_ca_root, false);
});
