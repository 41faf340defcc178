/**
 * The console's server side over real HTTP against a real Wharf (SQLite, and PostgreSQL in that
 * pass): Harbor's browser sign-in (`POST /c/login`, `GET /c/log_out`), the session and CSRF
 * cookies, the CSRF check on API writes, idle and absolute expiry, refusal of robots and of
 * disabled users, the audit log's operator, and the static files under /harbor (SPA fallback,
 * caching, the 503 of an unbuilt console) without touching /v2 or Harbor's 404s.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { adminAuth, adminPassword, startWharf, type TestWharf } from '../helpers/wharf.ts';

let w: TestWharf;
let dir: string;
const indexHtml = '<!doctype html><title>Wharf console</title><div id="root"></div>';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-console-test-'));
  writeFileSync(join(dir, 'index.html'), indexHtml);
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log("console")');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  w = await startWharf({ overrides: { console: { dir } } });
  const user = await fetch(`${w.url}/api/v2.0/users`, {
    method: 'POST',
    headers: { authorization: adminAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'Alice12345', email: 'alice@example.com', realname: 'Alice' }),
  });
  assert.equal(user.status, 201, await user.text());
});
after(async () => {
  await w?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A signed-in browser: its cookie header and CSRF token. */
interface Browser {
  cookie: string;
  csrf: string;
  setCookies: string[];
}

async function login(principal: string, password: string, headers: Record<string, string> = {}): Promise<Browser> {
  const r = await fetch(`${w.url}/c/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ principal, password }),
  });
  assert.equal(r.status, 200, await r.text());
  const setCookies = r.headers.getSetCookie();
  const cookie = setCookies.map((c) => c.split(';')[0]).join('; ');
  const csrf = /__csrf=([^;]+)/.exec(cookie)?.[1] ?? '';
  return { cookie, csrf, setCookies };
}

function sidOf(b: Browser): string {
  return /sid=([^;]+)/.exec(b.cookie)?.[1] ?? '';
}

const get = (path: string, headers: Record<string, string> = {}) => fetch(w.url + path, { headers, redirect: 'manual' });
const current = async (b: Browser) => {
  const r = await get('/api/v2.0/users/current', { cookie: b.cookie });
  return { status: r.status, body: (await r.json()) as { username?: string } };
};
const createProject = (b: Browser, name: string, csrf?: string) =>
  fetch(`${w.url}/api/v2.0/projects`, {
    method: 'POST',
    headers: { cookie: b.cookie, 'content-type': 'application/json', ...(csrf === undefined ? {} : { 'x-harbor-csrf-token': csrf }) },
    body: JSON.stringify({ project_name: name, metadata: { public: 'false' } }),
  });

describe('sign-in and sign-out', () => {
  it('sets an HttpOnly Lax session cookie and a script-readable Strict CSRF cookie', async () => {
    const b = await login('admin', adminPassword);
    const sid = b.setCookies.find((c) => c.startsWith('sid='));
    const csrf = b.setCookies.find((c) => c.startsWith('__csrf='));
    assert.match(sid ?? '', /^sid=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.match(csrf ?? '', /^__csrf=[A-Za-z0-9_-]{43}; Path=\/; SameSite=Strict$/);
    const me = await current(b);
    assert.equal(me.status, 200);
    assert.equal(me.body.username, 'admin');
  });

  it('marks the cookies Secure when the request came over https (through a trusted proxy)', async () => {
    const proxied = await startWharf({ overrides: { console: { dir }, server: { trust_proxy: ['127.0.0.1'] } } });
    try {
      const r = await fetch(`${proxied.url}/c/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
        body: JSON.stringify({ principal: 'admin', password: adminPassword }),
      });
      assert.equal(r.status, 200);
      const cookies = r.headers.getSetCookie();
      assert.equal(cookies.length, 2);
      for (const c of cookies) assert.match(c, /; Secure$/);
    } finally {
      await proxied.close();
    }
  });

  it('accepts a JSON body too, and stores only the hash of the session id', async () => {
    const r = await fetch(`${w.url}/c/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ principal: 'alice', password: 'Alice12345' }) });
    assert.equal(r.status, 200);
    const sid = /sid=([^;]+)/.exec(r.headers.getSetCookie().join(';'))?.[1] ?? '';
    const rows = await w.wharf.db.kysely.selectFrom('console_sessions').select(['id_hash']).execute();
    assert.ok(rows.length > 0);
    assert.ok(rows.every((row) => row.id_hash !== sid && /^[0-9a-f]{64}$/.test(row.id_hash)));
  });

  it('answers wrong credentials with 401 in Harbor shape, without a Basic challenge', async () => {
    const r = await fetch(`${w.url}/c/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'principal=admin&password=wrong' });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), null);
    assert.equal(r.headers.getSetCookie().length, 0);
    assert.deepEqual(await r.json(), { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] });
    const empty = await fetch(`${w.url}/c/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'principal=admin' });
    assert.equal(empty.status, 400);
  });

  it('refuses robot accounts, even with the right secret', async () => {
    const created = await fetch(`${w.url}/api/v2.0/robots`, {
      method: 'POST',
      headers: { authorization: adminAuth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'console-bot', level: 'system', duration: -1, permissions: [{ kind: 'project', namespace: '*', access: [{ resource: 'repository', action: 'pull' }] }] }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const robot = (await created.json()) as { name: string; secret: string };
    // The secret is good: Basic auth with it works on the API.
    const basic = await get('/api/v2.0/projects', { authorization: 'Basic ' + Buffer.from(`${robot.name}:${robot.secret}`).toString('base64') });
    assert.equal(basic.status, 200);
    const r = await fetch(`${w.url}/c/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ principal: robot.name, password: robot.secret }) });
    assert.equal(r.status, 401);
    assert.equal(r.headers.getSetCookie().length, 0);
  });

  it('signs out: the session ends on the server and both cookies are cleared', async () => {
    const b = await login('alice', 'Alice12345');
    assert.equal((await current(b)).status, 200);
    const out = await get('/c/log_out', { cookie: b.cookie });
    assert.equal(out.status, 200);
    const cleared = out.headers.getSetCookie();
    assert.equal(cleared.length, 2);
    for (const c of cleared) assert.match(c, /^(sid|__csrf)=; Path=\/;.*Max-Age=0/);
    // The old cookie, replayed, is anonymous now.
    assert.equal((await current(b)).status, 401);
    // Signing out without a session is fine too.
    assert.equal((await get('/c/log_out')).status, 200);
  });
});

describe('several instances on one database', () => {
  it('a session made on one instance works on another, and a sign-out on either ends it on both', async () => {
    const other = await startWharf({ dataDir: w.dataDir, overrides: { console: { dir } } });
    try {
      const b = await login('admin', adminPassword);
      const there = await fetch(`${other.url}/api/v2.0/users/current`, { headers: { cookie: b.cookie } });
      assert.equal(there.status, 200);
      const write = await fetch(`${other.url}/api/v2.0/projects`, {
        method: 'POST',
        headers: { cookie: b.cookie, 'content-type': 'application/json', 'x-harbor-csrf-token': b.csrf },
        body: JSON.stringify({ project_name: 'made-elsewhere' }),
      });
      assert.equal(write.status, 201, await write.text());
      assert.equal((await fetch(`${other.url}/c/log_out`, { headers: { cookie: b.cookie } })).status, 200);
      assert.equal((await current(b)).status, 401);
    } finally {
      await other.close({ keepData: true });
    }
  });
});

describe('the session on the API', () => {
  it('lets GETs through and requires the CSRF token on writes', async () => {
    const b = await login('admin', adminPassword);
    assert.equal((await get('/api/v2.0/projects', { cookie: b.cookie })).status, 200);
    for (const token of [undefined, '', 'wrong', b.csrf + 'x']) {
      const r = await createProject(b, 'csrf-refused', token);
      assert.equal(r.status, 403, `token ${String(token)}`);
      assert.deepEqual(await r.json(), { errors: [{ code: 'FORBIDDEN', message: 'CSRF token invalid' }] });
    }
    const ok = await createProject(b, 'csrf-ok', b.csrf);
    assert.equal(ok.status, 201, await ok.text());
    // Another session's token does not do.
    const other = await login('admin', adminPassword);
    assert.equal((await createProject(b, 'csrf-other', other.csrf)).status, 403);
  });

  it('records the signed-in user as the operator in the audit log', async () => {
    const b = await login('admin', adminPassword);
    assert.equal((await createProject(b, 'by-session', b.csrf)).status, 201);
    const until = Date.now() + 10_000;
    for (;;) {
      const r = await get('/api/v2.0/audit-logs?q=resource%3Dby-session', { authorization: adminAuth });
      const logs = (await r.json()) as Array<{ username: string; operation: string; resource: string }>;
      const entry = logs.find((l) => l.operation === 'create' && l.resource === 'by-session');
      if (entry) {
        assert.equal(entry.username, 'admin');
        break;
      }
      if (Date.now() > until) assert.fail(`no audit entry: ${JSON.stringify(logs)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  });

  it('a header wins over the cookie; /v2 ignores the cookie', async () => {
    const b = await login('admin', adminPassword);
    // Wrong Basic credentials with a valid cookie: the credentials decide (401).
    const wrong = await get('/api/v2.0/users/current', { cookie: b.cookie, authorization: 'Basic ' + Buffer.from('admin:nope').toString('base64') });
    assert.equal(wrong.status, 401);
    // /v2 with only the cookie is anonymous: the registry challenges for a token.
    const v2 = await get('/v2/', { cookie: b.cookie });
    assert.equal(v2.status, 401);
    assert.match(v2.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
  });

  it('refuses a disabled user at once', async () => {
    const b = await login('alice', 'Alice12345');
    assert.equal((await current(b)).status, 200);
    const users = (await (await get('/api/v2.0/users?q=username%3Dalice', { authorization: adminAuth })).json()) as Array<{ user_id: number }>;
    const id = users[0]?.user_id;
    const put = (disabled: boolean) =>
      fetch(`${w.url}/api/v2.0/users/${id}`, { method: 'PUT', headers: { authorization: adminAuth, 'content-type': 'application/json' }, body: JSON.stringify({ disabled }) });
    assert.equal((await put(true)).status, 200);
    try {
      assert.equal((await current(b)).status, 401);
    } finally {
      assert.equal((await put(false)).status, 200);
    }
  });

  it('answers the console 401s without a Basic challenge, other clients with one', async () => {
    const browser = await get('/api/v2.0/users/current', { 'x-requested-with': 'XMLHttpRequest' });
    assert.equal(browser.status, 401);
    assert.equal(browser.headers.get('www-authenticate'), null);
    const client = await get('/api/v2.0/users/current');
    assert.equal(client.status, 401);
    assert.match(client.headers.get('www-authenticate') ?? '', /^Basic /);
  });
});

describe('session expiry', () => {
  const db = () => w.wharf.db.kysely;
  const minutes = (n: number) => n * 60_000;

  it('ends a session idle longer than session_timeout_minutes (30 by default)', async () => {
    const b = await login('admin', adminPassword);
    const hash = (await db().selectFrom('console_sessions').select('id_hash').orderBy('created', 'desc').limit(1).executeTakeFirstOrThrow()).id_hash;
    // Idle 29 minutes: still alive, and the use refreshes last_seen.
    await db().updateTable('console_sessions').set({ last_seen: Date.now() - minutes(29) }).where('id_hash', '=', hash).execute();
    assert.equal((await current(b)).status, 200);
    const seen = await db().selectFrom('console_sessions').select('last_seen').where('id_hash', '=', hash).executeTakeFirstOrThrow();
    assert.ok(Date.now() - Number(seen.last_seen) < 10_000, 'last_seen refreshed');
    // Idle 31 minutes: gone.
    await db().updateTable('console_sessions').set({ last_seen: Date.now() - minutes(31) }).where('id_hash', '=', hash).execute();
    assert.equal((await current(b)).status, 401);
    assert.equal(await db().selectFrom('console_sessions').select('id_hash').where('id_hash', '=', hash).executeTakeFirst(), undefined);
  });

  it('refreshes last_seen at most once a minute', async () => {
    const b = await login('admin', adminPassword);
    const hash = (await db().selectFrom('console_sessions').select('id_hash').orderBy('created', 'desc').limit(1).executeTakeFirstOrThrow()).id_hash;
    const recent = Date.now() - 30_000;
    await db().updateTable('console_sessions').set({ last_seen: recent }).where('id_hash', '=', hash).execute();
    assert.equal((await current(b)).status, 200);
    const seen = await db().selectFrom('console_sessions').select('last_seen').where('id_hash', '=', hash).executeTakeFirstOrThrow();
    assert.equal(Number(seen.last_seen), recent);
  });

  it('ends every session at its absolute end, however busy', async () => {
    const b = await login('admin', adminPassword);
    const row = await db().selectFrom('console_sessions').select(['id_hash', 'created', 'expires']).orderBy('created', 'desc').limit(1).executeTakeFirstOrThrow();
    assert.equal(Number(row.expires) - Number(row.created), 12 * 3600 * 1000);
    await db().updateTable('console_sessions').set({ expires: Date.now() - 1 }).where('id_hash', '=', row.id_hash).execute();
    assert.equal((await current(b)).status, 401);
  });

  it('honours a shorter configured timeout, and prunes ended sessions', async () => {
    const short = await startWharf({ overrides: { console: { dir, session_timeout_minutes: 1 } } });
    try {
      const r = await fetch(`${short.url}/c/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ principal: 'admin', password: adminPassword }) });
      const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const sdb = short.wharf.db.kysely;
      await sdb.updateTable('console_sessions').set({ last_seen: Date.now() - 61_000 }).execute();
      assert.equal((await fetch(`${short.url}/api/v2.0/users/current`, { headers: { cookie } })).status, 401);
      // Rows of sessions nobody uses again go in a prune.
      await sql`INSERT INTO console_sessions (id_hash, user_id, csrf, created, last_seen, expires) VALUES ('stale', 1, 'x', 0, 0, 1)`.execute(sdb);
      const { consoleSessions } = await import('../../src/auth/index.ts');
      assert.ok((await consoleSessions(sdb, 1).prune()) >= 1);
      assert.equal(await sdb.selectFrom('console_sessions').select('id_hash').where('id_hash', '=', 'stale').executeTakeFirst(), undefined);
    } finally {
      await short.close();
    }
  });
});

describe('static files under /harbor', () => {
  it('redirects / to the projects page', async () => {
    const r = await get('/');
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/harbor/projects');
  });

  it('serves index.html for every console route (no-cache), files as they are', async () => {
    for (const path of ['/harbor', '/harbor/', '/harbor/projects', '/harbor/projects/1/webhook', '/harbor/sign-in?next=%2Fprojects', '/harbor/index.html']) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('cache-control'), 'no-cache', path);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.equal(await r.text(), indexHtml, path);
    }
    const asset = await get('/harbor/assets/index-abc123.js');
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    assert.match(asset.headers.get('cache-control') ?? '', /max-age=31536000.*immutable/);
    const icon = await get('/harbor/favicon.svg');
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get('cache-control'), 'no-cache');
    const head = await fetch(`${w.url}/harbor/projects`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  it('answers 404 for missing assets and never leaves the folder', async () => {
    const missing = await get('/harbor/assets/nope-123.js');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'NOT_FOUND');
    for (const path of ['/harbor/..%2f..%2fetc%2fpasswd', '/harbor/%2e%2e/%2e%2e/etc/passwd', '/harbor/assets/..%2f..%2f..%2fpackage.json']) {
      const r = await get(path);
      const text = await r.text();
      assert.ok(!text.includes('root:') && !text.includes('"name": "wharf"'), `${path}: ${text.slice(0, 80)}`);
    }
  });

  it('leaves the other surfaces alone: unknown paths get Harbor 404s, /v2 and health answer', async () => {
    const unknown = await get('/nothing/here');
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), { errors: [{ code: 'NOT_FOUND', message: 'no API at GET /nothing/here' }] });
    assert.equal((await get('/harborx')).status, 404);
    assert.equal((await get('/v2/', { authorization: adminAuth })).status, 200);
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/api/v2.0/nope', { authorization: adminAuth })).status, 404);
  });

  it('answers 503 with how to build when the folder has no index.html', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'wharf-console-empty-'));
    const bare = await startWharf({ overrides: { console: { dir: empty } } });
    try {
      const r = await fetch(`${bare.url}/harbor/projects`);
      assert.equal(r.status, 503);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(await r.text(), /npm run build/);
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('serves nothing of the console when console.enabled is false', async () => {
    const off = await startWharf({ overrides: { console: { dir, enabled: false } } });
    try {
      assert.equal((await fetch(`${off.url}/harbor/projects`)).status, 404);
      assert.equal((await fetch(`${off.url}/`, { redirect: 'manual' })).status, 404);
      const r = await fetch(`${off.url}/c/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ principal: 'admin', password: adminPassword }) });
      assert.equal(r.status, 404);
    } finally {
      await off.close();
    }
  });
});
