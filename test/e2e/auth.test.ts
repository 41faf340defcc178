/**
 * End-to-end: the real skopeo through Wharf's Docker token flow. skopeo meets the Bearer challenge
 * on /v2, fetches a token from /service/token with the credentials it was given (or none), and
 * retries with the token; the tests check the token endpoint was really used (Wharf's own request
 * counter) and that what a user or robot may do follows the permission matrix. The docker CLI's
 * (client-side) login is checked too. Every top-level test is named "e2e: …" and skips (or fails
 * under WHARF_REQUIRE_E2E=1) without skopeo, or without the docker CLI for the docker test.
 */
import { test } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { adminAuth } from '../helpers/wharf.ts';
import { useE2eWharf } from '../helpers/e2e.ts';
import { describeRun, e2eRequired, skopeo, skopeoOk, adminCreds } from '../helpers/skopeo.ts';
import { readLayoutIndex, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { api } from '../helpers/webhook-client.ts';

// Casts in this file (`x.json as T`) name the shape the API documents for a parsed JSON body; the
// assertions that follow check the fields they use.
const timeout = 180_000;
const devPass = 'DevPassw0rd';
const guestPass = 'GuestPassw0rd';

const { skip, wharf, layout } = useE2eWharf(async (w) => {
  const p = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'team', metadata: { public: 'false' } } });
  assert.equal(p.status, 201, p.text);
  for (const [username, password, role] of [['dev', devPass, 2], ['guest', guestPass, 3]] as const) {
    const u = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username, password, email: `${username}@example.com` } });
    assert.equal(u.status, 201, u.text);
    const m = await api(w.url, 'POST', '/api/v2.0/projects/team/members', { auth: adminAuth, body: { role_id: role, member_user: { username } } });
    assert.equal(m.status, 201, m.text);
  }
});

/** How many times /service/token answered with `status`, from Wharf's request counter. */
async function tokenRequests(status: number): Promise<number> {
  const text = await (await fetch(`${wharf().url}/metrics`, { headers: { authorization: adminAuth } })).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('wharf_http_requests_total{') && line.includes('route="/service/token"') && line.includes(`status="${status}"`)) {
      n += Number(line.split(' ').pop());
    }
  }
  return n;
}

const remote = (repo: string, tag: string) => `docker://${wharf().host}/${repo}:${tag}`;

async function pulledDigest(args: string[]): Promise<string> {
  const out = layout();
  await skopeoOk(['copy', '--quiet', '--src-tls-verify=false', ...args, out.ref('pulled')]);
  const digest = readLayoutIndex(out.dir)[0]?.digest;
  assert.ok(digest);
  return digest;
}

test('e2e: skopeo --creds push and pull through the Bearer token flow', { skip, timeout }, async () => {
  wharf();
  const src = layout();
  const img = await writeSingleLayerImage(src, 'v1');
  const before = await tokenRequests(200);
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `dev:${devPass}`, src.ref('v1'), remote('team/app', 'v1')]);
  const afterPush = await tokenRequests(200);
  assert.ok(afterPush > before, `skopeo fetched a token for the push (${before} -> ${afterPush})`);
  const digest = await pulledDigest(['--src-creds', `guest:${guestPass}`, remote('team/app', 'v1')]);
  assert.equal(digest, img.manifest.digest);
  assert.ok((await tokenRequests(200)) > afterPush, 'skopeo fetched a token for the pull');
});

test('e2e: a pull-only member cannot push; wrong credentials fail at the token endpoint', { skip, timeout }, async () => {
  wharf();
  const src = layout();
  await writeSingleLayerImage(src, 'g1');
  const r = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `guest:${guestPass}`, src.ref('g1'), remote('team/guest-push', 'g1')]);
  assert.notEqual(r.code, 0, describeRun(r));
  assert.match(r.stderr, /denied|unauthorized|forbidden|403|401/i, describeRun(r));
  const tags = await api(wharf().url, 'GET', '/v2/team/guest-push/tags/list', { auth: adminAuth });
  assert.equal(tags.status, 404, 'nothing was pushed');

  const before = await tokenRequests(401);
  const bad = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', 'dev:WrongPassw0rd', remote('team/app', 'v1')]);
  assert.notEqual(bad.code, 0, describeRun(bad));
  assert.ok((await tokenRequests(401)) > before, 'the token endpoint refused the wrong password');
});

test('e2e: skopeo login, then copy with the stored credentials, then logout', { skip, timeout }, async () => {
  const host = wharf().host;
  await skopeoOk(['login', '--tls-verify=false', '-u', 'dev', '-p', devPass, host]);
  try {
    const src = layout();
    const img = await writeSingleLayerImage(src, 'login');
    await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', src.ref('login'), remote('team/login', 'v1')]);
    assert.equal(await pulledDigest([remote('team/login', 'v1')]), img.manifest.digest);
  } finally {
    await skopeoOk(['logout', host]);
  }
  const r = await skopeo(['inspect', '--raw', '--tls-verify=false', remote('team/login', 'v1')]);
  assert.notEqual(r.code, 0, `after logout the private image is not readable:\n${describeRun(r)}`);
  const badLogin = await skopeo(['login', '--tls-verify=false', '-u', 'dev', '-p', 'WrongPassw0rd', host]);
  assert.notEqual(badLogin.code, 0, describeRun(badLogin));
});

test('e2e: anonymous pull of a public image through an anonymous token', { skip, timeout }, async () => {
  wharf();
  const src = layout();
  const img = await writeSingleLayerImage(src, 'pub');
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref('pub'), remote('library/anon-pub', 'v1')]);
  const before = await tokenRequests(200);
  assert.equal(await pulledDigest(['--src-no-creds', remote('library/anon-pub', 'v1')]), img.manifest.digest);
  assert.ok((await tokenRequests(200)) > before, 'the anonymous pull used a token');
  const priv = await skopeo(['inspect', '--raw', '--tls-verify=false', '--no-creds', remote('team/app', 'v1')]);
  assert.notEqual(priv.code, 0, `anonymous callers cannot read a private project:\n${describeRun(priv)}`);
});

test('e2e: a project robot limited to pull can pull but not push', { skip, timeout }, async () => {
  const base = wharf().url;
  const created = await api(base, 'POST', '/api/v2.0/robots', {
    auth: adminAuth,
    body: { name: 'puller', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'team', access: [{ resource: 'repository', action: 'pull' }] }] },
  });
  assert.equal(created.status, 201, created.text);
  const robot = created.json as { name: string; secret: string };
  const creds = `${robot.name}:${robot.secret}`;
  const src = layout();
  const img = await writeSingleLayerImage(src, 'robot');
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `dev:${devPass}`, src.ref('robot'), remote('team/robot', 'v1')]);
  assert.equal(await pulledDigest(['--src-creds', creds, remote('team/robot', 'v1')]), img.manifest.digest);
  const push = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', creds, src.ref('robot'), remote('team/robot', 'v2')]);
  assert.notEqual(push.code, 0, describeRun(push));
});

/** True when `cli --version` runs (docker's and podman's logins are client-side: no daemon needed). */
function cliAvailable(cli: string): boolean {
  return spawnSync(cli, ['--version'], { encoding: 'utf8', timeout: 10_000 }).status === 0;
}
const cliSkip = (cli: string) =>
  cliAvailable(cli) || e2eRequired() ? false : `${cli} is not installed; set WHARF_REQUIRE_E2E=1 to fail instead`;
const dockerSkip = cliSkip('docker');
const podmanSkip = cliSkip('podman');

/** Runs a client CLI asynchronously (Wharf runs in this process: a blocking spawn would stall it). */
function runCli(cli: string, args: string[], input: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}
const docker = (args: string[], input: string) => runCli('docker', args, input);

test('e2e: docker login follows the token flow; a wrong password is refused', { skip: dockerSkip || skip, timeout }, async () => {
  assert.ok(cliAvailable('docker'), 'the docker CLI is required (WHARF_REQUIRE_E2E=1)');
  const host = wharf().host;
  const config = mkdtempSync(join(tmpdir(), 'wharf-docker-'));
  try {
    const before = await tokenRequests(200);
    const ok = await docker(['--config', config, 'login', host, '-u', 'dev', '--password-stdin'], devPass);
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /Login Succeeded/);
    assert.ok((await tokenRequests(200)) > before, 'docker login fetched a token');
    // Parsed docker config file; only `auths` is read.
    const stored = JSON.parse(readFileSync(join(config, 'config.json'), 'utf8')) as { auths?: Record<string, unknown> };
    assert.ok(stored.auths && host in stored.auths, `credentials stored for ${host}`);
    const bad = await docker(['--config', config, 'login', host, '-u', 'dev', '--password-stdin'], 'WrongPassw0rd');
    assert.notEqual(bad.code, 0, bad.output);
    assert.match(bad.output, /unauthorized|invalid username or password/i);
    const out = await docker(['--config', config, 'logout', host], '');
    assert.equal(out.code, 0, out.output);
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
});

test('e2e: podman login follows the token flow; a wrong password is refused', { skip: podmanSkip || skip, timeout }, async () => {
  assert.ok(cliAvailable('podman'), 'podman is required (WHARF_REQUIRE_E2E=1)');
  const host = wharf().host;
  const dir = mkdtempSync(join(tmpdir(), 'wharf-podman-'));
  const authfile = join(dir, 'auth.json');
  const login = (password: string) => runCli('podman', ['login', '--tls-verify=false', '--authfile', authfile, '-u', 'dev', '--password-stdin', host], password);
  try {
    const before = await tokenRequests(200);
    const ok = await login(devPass);
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /Login Succeeded/);
    assert.ok((await tokenRequests(200)) > before, 'podman login fetched a token');
    // Parsed containers auth file; only `auths` is read.
    const stored = JSON.parse(readFileSync(authfile, 'utf8')) as { auths?: Record<string, unknown> };
    assert.ok(stored.auths && host in stored.auths, `credentials stored for ${host}`);
    const bad = await login('WrongPassw0rd');
    assert.notEqual(bad.code, 0, bad.output);
    assert.match(bad.output, /invalid username\/password|unauthorized/i);
    const out = await runCli('podman', ['logout', '--authfile', authfile, host], '');
    assert.equal(out.code, 0, out.output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
