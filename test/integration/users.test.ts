/**
 * Users over real HTTP: the system admin's CRUD with Harbor's fields, /users/current,
 * /users/search, password changes (rules, old password, reuse), disabled users, and failed-login
 * rate limiting on /v2, /api/v2.0 and /service/token for existing and unknown names alike.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { api, type ApiAnswer } from '../helpers/webhook-client.ts';
import type { LoginFailure } from '../../src/auth/index.ts';
import type { UserView } from '../../src/auth/users.ts';

// Casts in this file (`x.json as T`) name the shape the API documents for a parsed JSON body; the
// assertions that follow check the fields they use.
const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

/** A user as the API returns it (Harbor's UserResp plus `disabled`). */
type UserJson = UserView;

function errorCode(a: ApiAnswer): string | undefined {
  return (a.json as { errors?: Array<{ code: string }> } | undefined)?.errors?.[0]?.code;
}
function errorMessage(a: ApiAnswer): string {
  return (a.json as { errors?: Array<{ message: string }> } | undefined)?.errors?.[0]?.message ?? '';
}

async function create(w: TestWharf, body: Record<string, unknown>): Promise<number> {
  const a = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body });
  assert.equal(a.status, 201, a.text);
  const loc = String(a.headers.location);
  assert.match(loc, /^\/api\/v2\.0\/users\/\d+$/);
  return Number(loc.split('/').pop());
}

describe('users', () => {
  let w: TestWharf;
  before(async () => {
    w = await startWharf();
  });
  after(async () => {
    await w.close();
  });

  it('the system admin creates, reads, lists, updates and deletes users with Harbor’s fields', async () => {
    const id = await create(w, { username: 'alice', password: 'Alice1234', email: 'alice@example.com', realname: 'Alice A', comment: 'first' });
    const one = await api(w.url, 'GET', `/api/v2.0/users/${id}`, { auth: adminAuth });
    assert.equal(one.status, 200);
    const u = one.json as UserJson;
    assert.equal(u.user_id, id);
    assert.equal(u.username, 'alice');
    assert.equal(u.email, 'alice@example.com');
    assert.equal(u.realname, 'Alice A');
    assert.equal(u.comment, 'first');
    assert.equal(u.sysadmin_flag, false);
    assert.ok(!Number.isNaN(Date.parse(u.creation_time)));
    assert.ok(!Number.isNaN(Date.parse(u.update_time)));
    assert.equal('password' in u || 'password_hash' in u, false);

    await create(w, { username: 'alfred', password: 'Alfred1234', email: 'alfred@example.com' });
    const list = await api(w.url, 'GET', '/api/v2.0/users?q=username%3D~al&page=1&page_size=1', { auth: adminAuth });
    assert.equal(list.status, 200);
    assert.equal(list.headers['x-total-count'], '2');
    assert.equal((list.json as UserJson[]).length, 1);

    const upd = await api(w.url, 'PUT', `/api/v2.0/users/${id}`, { auth: adminAuth, body: { email: 'a@example.org', realname: 'Alice B', comment: 'changed' } });
    assert.equal(upd.status, 200, upd.text);
    const after1 = (await api(w.url, 'GET', `/api/v2.0/users/${id}`, { auth: adminAuth })).json as UserJson;
    assert.equal(after1.email, 'a@example.org');
    assert.equal(after1.realname, 'Alice B');

    const admin = await api(w.url, 'PUT', `/api/v2.0/users/${id}/sysadmin`, { auth: adminAuth, body: { sysadmin_flag: true } });
    assert.equal(admin.status, 200);
    assert.equal(((await api(w.url, 'GET', `/api/v2.0/users/${id}`, { auth: adminAuth })).json as UserJson).sysadmin_flag, true);

    const dup = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username: 'alice', password: 'Alice1234' } });
    assert.equal(dup.status, 409);
    assert.equal(errorCode(dup), 'CONFLICT');

    // A project member can be deleted; the membership goes with the user.
    const member = await api(w.url, 'POST', '/api/v2.0/projects/library/members', { auth: adminAuth, body: { role_id: 2, member_user: { username: 'alice' } } });
    assert.equal(member.status, 201, member.text);
    const del = await api(w.url, 'DELETE', `/api/v2.0/users/${id}`, { auth: adminAuth });
    assert.equal(del.status, 200);
    assert.equal((await api(w.url, 'GET', `/api/v2.0/users/${id}`, { auth: adminAuth })).status, 404);
    assert.equal((await api(w.url, 'GET', '/v2/', { auth: basic('alice', 'Alice1234') })).status, 401);
    const members = await api(w.url, 'GET', '/api/v2.0/projects/library/members', { auth: adminAuth });
    assert.equal(members.status, 200, members.text);
    assert.ok(!members.text.includes('"alice"'), members.text);
    assert.equal((await api(w.url, 'DELETE', '/api/v2.0/users/1', { auth: adminAuth })).status, 400);
  });

  it('only the system admin manages users; anonymous callers get 401', async () => {
    await create(w, { username: 'bob', password: 'Bob12345x' });
    const bob = basic('bob', 'Bob12345x');
    const list = await api(w.url, 'GET', '/api/v2.0/users', { auth: bob });
    assert.equal(list.status, 403);
    assert.equal(errorCode(list), 'FORBIDDEN');
    assert.equal((await api(w.url, 'POST', '/api/v2.0/users', { auth: bob, body: { username: 'eve', password: 'Eve12345x' } })).status, 403);
    assert.equal((await api(w.url, 'GET', '/api/v2.0/users/1', { auth: bob })).status, 403);
    assert.equal((await api(w.url, 'GET', '/api/v2.0/users')).status, 401);
    assert.equal((await api(w.url, 'GET', '/api/v2.0/users/current')).status, 401);
    const search = await api(w.url, 'GET', '/api/v2.0/users/search?username=bo', { auth: bob });
    assert.equal(search.status, 200);
    assert.deepEqual(search.json, [{ user_id: (search.json as Array<{ user_id: number }>)[0]?.user_id, username: 'bob' }]);
    const bad = await api(w.url, 'GET', '/api/v2.0/users/abc', { auth: adminAuth });
    assert.equal(bad.status, 400);
  });

  it('fuzzy user filters treat % and _ literally', async () => {
    await create(w, { username: 'under_score', password: 'Under1234' });
    await create(w, { username: 'underxscore', password: 'Under1234' });
    const list = await api(w.url, 'GET', '/api/v2.0/users?q=username%3D~under_', { auth: adminAuth });
    assert.deepEqual((list.json as UserJson[]).map((u) => u.username), ['under_score']);
    const search = await api(w.url, 'GET', '/api/v2.0/users/search?username=r_s', { auth: adminAuth });
    assert.deepEqual((search.json as Array<{ username: string }>).map((u) => u.username), ['under_score']);
    const pct = await api(w.url, 'GET', '/api/v2.0/users/search?username=%25', { auth: adminAuth });
    assert.deepEqual(pct.json, []);
  });

  it('/users/current answers who is logged in', async () => {
    await create(w, { username: 'carol', password: 'Carol1234', email: 'carol@example.com' });
    const me = await api(w.url, 'GET', '/api/v2.0/users/current', { auth: basic('carol', 'Carol1234') });
    assert.equal(me.status, 200);
    assert.equal((me.json as UserJson).username, 'carol');
    assert.equal((me.json as UserJson).email, 'carol@example.com');
    const adm = await api(w.url, 'GET', '/api/v2.0/users/current', { auth: adminAuth });
    assert.equal((adm.json as UserJson).sysadmin_flag, true);
  });

  it('weak passwords are refused with a message saying what is missing', async () => {
    const cases: Array<[string, RegExp]> = [
      ['Sh0rt', /at least 8 characters/],
      ['alllowercase1', /upper-case/],
      ['ALLUPPERCASE1', /lower-case/],
      ['NoDigitsHere', /digit/],
      ['Aa1' + 'x'.repeat(130), /at most 128/],
    ];
    for (const [password, re] of cases) {
      const a = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username: 'weakling', password } });
      assert.equal(a.status, 400, `${password}: ${a.text}`);
      assert.equal(errorCode(a), 'BAD_REQUEST');
      assert.match(errorMessage(a), re);
    }
    const noName = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { password: 'Good1234x' } });
    assert.equal(noName.status, 400);
    const robotName = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username: 'robot$x', password: 'Good1234x' } });
    assert.equal(robotName.status, 400);
  });

  it('users change their own password (old one required); reused passwords are refused', async () => {
    const id = await create(w, { username: 'dave', password: 'DaveFirst1' });
    const dave = (p: string) => basic('dave', p);
    const path = `/api/v2.0/users/${id}/password`;
    const noOld = await api(w.url, 'PUT', path, { auth: dave('DaveFirst1'), body: { new_password: 'DaveSecond2' } });
    assert.equal(noOld.status, 400);
    const wrongOld = await api(w.url, 'PUT', path, { auth: dave('DaveFirst1'), body: { old_password: 'Nope1234x', new_password: 'DaveSecond2' } });
    assert.equal(wrongOld.status, 403);
    const weak = await api(w.url, 'PUT', path, { auth: dave('DaveFirst1'), body: { old_password: 'DaveFirst1', new_password: 'weak' } });
    assert.equal(weak.status, 400);
    const same = await api(w.url, 'PUT', path, { auth: dave('DaveFirst1'), body: { old_password: 'DaveFirst1', new_password: 'DaveFirst1' } });
    assert.equal(same.status, 400);
    assert.match(errorMessage(same), /differ from the current one/);

    const ok = await api(w.url, 'PUT', path, { auth: dave('DaveFirst1'), body: { old_password: 'DaveFirst1', new_password: 'DaveSecond2' } });
    assert.equal(ok.status, 200, ok.text);
    // The old password stops working at once; the new one works.
    assert.equal((await api(w.url, 'GET', '/api/v2.0/users/current', { auth: dave('DaveFirst1') })).status, 401);
    assert.equal((await api(w.url, 'GET', '/api/v2.0/users/current', { auth: dave('DaveSecond2') })).status, 200);
    // Going back to an earlier password is refused.
    const back = await api(w.url, 'PUT', path, { auth: dave('DaveSecond2'), body: { old_password: 'DaveSecond2', new_password: 'DaveFirst1' } });
    assert.equal(back.status, 400);
    assert.match(errorMessage(back), /last 5 passwords/);

    // Another user may not change dave's password; the admin may, without the old one.
    await create(w, { username: 'mallory', password: 'Mallory12' });
    const other = await api(w.url, 'PUT', path, { auth: basic('mallory', 'Mallory12'), body: { old_password: 'DaveSecond2', new_password: 'DaveThird3' } });
    assert.equal(other.status, 403);
    const reset = await api(w.url, 'PUT', path, { auth: adminAuth, body: { new_password: 'DaveReset9' } });
    assert.equal(reset.status, 200, reset.text);
    assert.equal((await api(w.url, 'GET', '/v2/', { auth: dave('DaveReset9') })).status, 200);
  });

  it('a disabled user is refused on /v2, the API and the token endpoint, and can be enabled again', async () => {
    const id = await create(w, { username: 'erin', password: 'Erin12345' });
    const erin = basic('erin', 'Erin12345');
    assert.equal((await api(w.url, 'GET', '/v2/', { auth: erin })).status, 200);
    assert.equal((await api(w.url, 'PUT', `/api/v2.0/users/${id}`, { auth: adminAuth, body: { disabled: true } })).status, 200);
    assert.equal(((await api(w.url, 'GET', `/api/v2.0/users/${id}`, { auth: adminAuth })).json as UserJson).disabled, true);
    assert.equal((await api(w.url, 'GET', '/v2/', { auth: erin })).status, 401);
    assert.equal((await api(w.url, 'GET', '/api/v2.0/users/current', { auth: erin })).status, 401);
    assert.equal((await api(w.url, 'GET', '/service/token?service=wharf', { auth: erin })).status, 401);
    // A user cannot re-enable themselves; the admin can.
    assert.equal((await api(w.url, 'PUT', `/api/v2.0/users/1`, { auth: adminAuth, body: { disabled: true } })).status, 400);
    assert.equal((await api(w.url, 'PUT', `/api/v2.0/users/${id}`, { auth: adminAuth, body: { disabled: false } })).status, 200);
    assert.equal((await api(w.url, 'GET', '/v2/', { auth: erin })).status, 200);
  });
});

describe('failed-login rate limiting', () => {
  let w: TestWharf;
  before(async () => {
    w = await startWharf({ overrides: { auth: { login_max_failures_per_user: 3, login_max_failures_per_address: 1000, login_window_seconds: 60 } } });
  });
  after(async () => {
    await w.close();
  });

  it('locks a name after N failures with 429 on /v2 and the API, the same for existing and unknown users', async () => {
    await create(w, { username: 'frank', password: 'Frank1234' });
    const answers: Record<string, number[]> = {};
    for (const name of ['frank', 'ghost-user']) {
      const seen: number[] = [];
      for (let i = 0; i < 3; i++) seen.push((await api(w.url, 'GET', '/v2/', { auth: basic(name, 'Wrong1234') })).status);
      const v2 = await api(w.url, 'GET', '/v2/', { auth: basic(name, 'Wrong1234') });
      seen.push(v2.status);
      assert.equal(errorCode(v2), 'TOOMANYREQUESTS');
      const apiAnswer = await api(w.url, 'GET', '/api/v2.0/users/current', { auth: basic(name, 'Wrong1234') });
      seen.push(apiAnswer.status);
      assert.equal(errorCode(apiAnswer), 'TOO_MANY_REQUEST');
      const tok = await api(w.url, 'GET', '/service/token?service=wharf', { auth: basic(name, 'Wrong1234') });
      seen.push(tok.status);
      answers[name] = seen;
    }
    assert.deepEqual(answers.frank, [401, 401, 401, 429, 429, 429]);
    assert.deepEqual(answers['ghost-user'], answers.frank);
    // Locked means locked: the right password is refused too until the window passes.
    assert.equal((await api(w.url, 'GET', '/v2/', { auth: basic('frank', 'Frank1234') })).status, 429);
    // Other names are not affected.
    await create(w, { username: 'grace', password: 'Grace1234' });
    assert.equal((await api(w.url, 'GET', '/v2/', { auth: basic('grace', 'Grace1234') })).status, 200);
  });

  it('a successful login resets the name’s count', async () => {
    await create(w, { username: 'heidi', password: 'Heidi1234' });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) assert.equal((await api(w.url, 'GET', '/v2/', { auth: basic('heidi', 'Wrong1234') })).status, 401);
      assert.equal((await api(w.url, 'GET', '/v2/', { auth: basic('heidi', 'Heidi1234') })).status, 200);
    }
  });
});

describe('failed-login limit per address and the failure hook', () => {
  let w: TestWharf;
  const failures: LoginFailure[] = [];
  before(async () => {
    w = await startWharf({ overrides: { auth: { login_max_failures_per_user: 100, login_max_failures_per_address: 4, login_window_seconds: 60 } } });
  });
  after(async () => {
    await w.close();
  });

  it('locks an address after N failures across names, and announces every failure', async () => {
    const limiter = w.wharf.loginLimiter;
    limiter.loginFailures.on('failure', (f) => failures.push(f));
    for (let i = 0; i < 4; i++) assert.equal((await api(w.url, 'GET', '/v2/', { auth: basic(`name${i}`, 'Wrong1234') })).status, 401);
    const locked = await api(w.url, 'GET', '/v2/', { auth: adminAuth });
    assert.equal(locked.status, 429);
    assert.equal(failures.length, 5);
    assert.deepEqual(
      failures.map((f) => [f.username, f.reason, f.surface]),
      [
        ['name0', 'invalid_credentials', '/v2'],
        ['name1', 'invalid_credentials', '/v2'],
        ['name2', 'invalid_credentials', '/v2'],
        ['name3', 'invalid_credentials', '/v2'],
        ['admin', 'rate_limited', '/v2'],
      ],
    );
    assert.equal(failures[0]?.address, '127.0.0.1');
  });
});
