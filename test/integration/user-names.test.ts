/**
 * User names over real HTTP (issue 8): POST /users refuses names that are not what they look like
 * (mixed scripts, not in NFKC, invisible characters, a confusable of an existing user's name), keeps
 * accepting single-script non-ASCII names, and a login with a lookalike of `admin` neither reaches
 * `admin`'s account nor counts against `admin` in the failed-login limiter.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, adminPassword, type TestWharf } from '../helpers/wharf.ts';
import { api, type ApiAnswer } from '../helpers/webhook-client.ts';
import type { UserView } from '../../src/auth/users.ts';

const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

// `a.json as T` names the shape the API documents for a parsed body; the assertions check it.
function harborError(a: ApiAnswer): { code: string; message: string } {
  const e = (a.json as { errors?: Array<{ code: string; message: string }> } | undefined)?.errors?.[0];
  assert.ok(e, `Harbor's error format expected: ${a.text.slice(0, 300)}`);
  return e;
}

describe('user names', () => {
  let w: TestWharf;
  before(async () => {
    w = await startWharf({ overrides: { auth: { login_max_failures_per_user: 3, login_max_failures_per_address: 1000, login_window_seconds: 60 } } });
  });
  after(async () => {
    await w.close();
  });

  const create = (username: string) => api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username, password: 'Secret1234' } });
  const refused = async (username: string, status: number, message: RegExp) => {
    const a = await create(username);
    assert.equal(a.status, status, `${JSON.stringify(username)}: ${a.text}`);
    const e = harborError(a);
    assert.equal(e.code, status === 409 ? 'CONFLICT' : 'BAD_REQUEST');
    assert.match(e.message, message);
  };

  it('refuses `аdmin` with a Cyrillic а: mixed scripts', async () => {
    await refused('аdmin', 400, /^username "аdmin" mixes scripts \(Cyrillic, Latin\): use letters of one script/);
    await refused('pаypal', 400, /mixes scripts \(Latin, Cyrillic\)/);
  });

  it('refuses a fullwidth `ａｄｍｉｎ`, naming its NFKC form', async () => {
    await refused('ａｄｍｉｎ', 400, /^username "ａｄｍｉｎ" is not in Unicode normal form NFKC; its normal form is "admin"/);
  });

  it('refuses invisible characters', async () => {
    await refused('ad\u200bmin', 400, /invisible, control or unassigned characters \(found U\+200B\)/);
  });

  it('refuses a name confusable with an existing user’s, whatever its script or case', async () => {
    await refused('ADMIN', 409, /already taken/);
    assert.equal((await create('alice')).status, 201);
    await refused('AIice', 409, /^user name "AIice" can be confused with the existing user "alice"/); // capital I
    assert.equal((await create('cop')).status, 201);
    await refused('сор', 409, /can be confused with the existing user "cop"/); // all Cyrillic
    assert.equal((await create('mary')).status, 201);
    await refused('rnary', 409, /can be confused with the existing user "mary"/); // r n for m
  });

  it('accepts single-script non-ASCII names, which log in as themselves', async () => {
    for (const name of ['иван', 'müller', '山田たろう']) {
      const a = await create(name);
      assert.equal(a.status, 201, `${name}: ${a.text}`);
      const me = await api(w.url, 'GET', '/api/v2.0/users/current', { auth: basic(name, 'Secret1234') });
      assert.equal(me.status, 200, `${name}: ${me.text}`);
      assert.equal((me.json as UserView).username, name);
    }
    // A Cyrillic name confusable with none: `ivan` in Latin is a different name.
    assert.equal((await create('ivan')).status, 201);
  });

  it('a login as `аdmin` neither reaches admin’s account nor locks admin', async () => {
    const lookalikes = ['аdmin', 'ａｄｍｉｎ'];
    for (const name of lookalikes) {
      for (let i = 0; i < 3; i++) {
        assert.equal((await api(w.url, 'GET', '/api/v2.0/users/current', { auth: basic(name, adminPassword) })).status, 401, name);
      }
      assert.equal((await api(w.url, 'GET', '/v2/', { auth: basic(name, adminPassword) })).status, 429, `${name} is locked under its own name`);
    }
    const me = await api(w.url, 'GET', '/api/v2.0/users/current', { auth: adminAuth });
    assert.equal(me.status, 200, me.text);
    assert.equal((me.json as UserView).username, 'admin');
  });

  it('a lookalike row stored by an older version is its own account and blocks new lookalikes', async () => {
    const now = Date.now();
    const hash = (await w.wharf.db.kysely.selectFrom('users').select('password_hash').where('username', '=', 'alice').executeTakeFirstOrThrow()).password_hash;
    await w.wharf.db.kysely
      .insertInto('users')
      // `bоb` with a Cyrillic о, as an older version could store it.
      .values({ username: 'bоb', password_hash: hash, email: '', realname: '', comment: '', sysadmin: 0, disabled: 0, creation_time: now, update_time: now })
      .execute();
    const me = await api(w.url, 'GET', '/api/v2.0/users/current', { auth: basic('bоb', 'Secret1234') });
    assert.equal(me.status, 200, me.text);
    assert.equal((me.json as UserView).username, 'bоb');
    await refused('bob', 409, /can be confused with the existing user "bоb"/);
  });
});
