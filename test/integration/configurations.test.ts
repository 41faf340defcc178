/**
 * Harbor's /api/v2.0/configurations over real HTTP (both databases): every key with Harbor's
 * defaults, Harbor's refusals, and each key Wharf acts on doing what it says: read_only refusing a
 * skopeo push, an HTTP blob upload and a project create until it is turned off; storage_per_project
 * and quota_per_project_enable on new projects; robot_name_prefix on new robots; notification_enable,
 * banner_message and project_creation_restriction in /systeminfo.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { apiCaller, show, type ApiAnswer } from '../helpers/webhook-client.ts';
import { adminCreds, describeRun, skipWithoutSkopeo, skopeo } from '../helpers/skopeo.ts';
import { OciLayout, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { settingKeys, settingsCatalog } from '../../src/settings/index.ts';

type Answer = ApiAnswer;

let w: TestWharf;
const layouts: OciLayout[] = [];
const userAuth = 'Basic ' + Buffer.from('cfg-user:User12345!').toString('base64');
const readOnlyMessage = 'The system is in read only mode. Any modification is prohibited.';

/** `method path` as `auth` (the admin unless given; null: anonymous), with a JSON body or raw bytes. */
const call = apiCaller(() => w.url, adminAuth);

function assertError(a: Answer, status: number, code: string, message: string | RegExp): void {
  assert.equal(a.status, status, show(a));
  const e = (a.json as { errors?: Array<{ code: string; message: string }> }).errors?.[0]; // shape asserted next
  assert.ok(e, show(a));
  assert.equal(e.code, code, show(a));
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
}

type Config = Record<string, { value: unknown; editable: boolean }>;

async function configurations(): Promise<Config> {
  const g = await call('GET', '/api/v2.0/configurations');
  assert.equal(g.status, 200, show(g));
  return g.json as Config; // every key's shape is asserted by the first test
}

async function put(body: Record<string, unknown>): Promise<void> {
  const r = await call('PUT', '/api/v2.0/configurations', { body });
  assert.equal(r.status, 200, show(r));
}

async function systeminfo(): Promise<Record<string, unknown>> {
  const r = await call('GET', '/api/v2.0/systeminfo');
  assert.equal(r.status, 200, show(r));
  return r.json as Record<string, unknown>;
}

async function projectLimit(name: string): Promise<number> {
  const s = await call('GET', `/api/v2.0/projects/${name}/summary`);
  assert.equal(s.status, 200, show(s));
  return (s.json as { quota: { hard: { storage: number } } }).quota.hard.storage;
}

/** Uploads one small blob monolithically over HTTP: the answer's status. */
async function uploadBlob(repo: string): Promise<Answer> {
  const data = new TextEncoder().encode(`blob of ${repo} ${Date.now()}`);
  const digest = 'sha256:' + createHash('sha256').update(data).digest('hex');
  return call('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, { raw: data });
}

before(async () => {
  w = await startWharf();
  const u = await call('POST', '/api/v2.0/users', { body: { username: 'cfg-user', password: 'User12345!', email: 'cfg@example.com', realname: 'cfg' } });
  assert.equal(u.status, 201, show(u));
});

after(async () => {
  for (const l of layouts) l.remove();
  await w?.close();
});

describe('configurations', () => {
  it('GET returns every Harbor key with its default, editable where Wharf acts; passwords left out', async () => {
    const c = await configurations();
    for (const key of settingKeys) {
      const spec = settingsCatalog[key];
      if ('secret' in spec && spec.secret) {
        assert.equal(c[key], undefined, `${key} is a password and never returned`);
        continue;
      }
      const item = c[key];
      assert.ok(item, `${key} is returned`);
      assert.deepEqual(Object.keys(item).sort(), ['editable', 'value'], key);
      // auth_mode is writable, but not editable once users besides the admin exist (Harbor's rule; this file made one).
      assert.equal(item.editable, key === 'auth_mode' ? false : spec.writable, `${key} editable`);
      assert.equal(typeof item.value, spec.type === 'bool' ? 'boolean' : spec.type === 'int' ? 'number' : 'string', `${key} type`);
    }
    assert.deepEqual(c.robot_name_prefix, { value: 'robot$', editable: true });
    assert.deepEqual(c.quota_per_project_enable, { value: true, editable: true });
    assert.deepEqual(c.storage_per_project, { value: -1, editable: true });
    assert.deepEqual(c.project_creation_restriction, { value: 'everyone', editable: true });
    assert.deepEqual(c.read_only, { value: false, editable: true });
    assert.deepEqual(c.notification_enable, { value: true, editable: true });
    assert.deepEqual(c.auth_mode, { value: 'db_auth', editable: false });
    assert.deepEqual(c.ldap_uid, { value: 'cn', editable: true });
    assert.deepEqual(c.skip_audit_log_database, { value: false, editable: false });
    // Wharf's own lifetimes under Harbor's names: the registry token's 300 s default, the console's 30 minutes.
    assert.deepEqual(c.token_expiration, { value: 5, editable: false });
    assert.deepEqual(c.session_timeout, { value: 30, editable: false });
  });

  it('only system admins read or change them', async () => {
    assertError(await call('GET', '/api/v2.0/configurations', { auth: null }), 401, 'UNAUTHORIZED', /./);
    assertError(await call('GET', '/api/v2.0/configurations', { auth: userAuth }), 403, 'FORBIDDEN', /./);
    assertError(await call('PUT', '/api/v2.0/configurations', { auth: userAuth, body: { read_only: true } }), 403, 'FORBIDDEN', /./);
  });

  it('PUT refuses unknown keys, read-only keys and wrong values with Harbor’s messages, and writes nothing then', async () => {
    const bad = (body: unknown) => call('PUT', '/api/v2.0/configurations', { body });
    assertError(await bad({ no_such_key: 1 }), 400, 'BAD_REQUEST', 'invalid config, item not defined in metadatalist, no_such_key');
    assertError(await bad({ auth_mode: 'ldap_auth' }), 400, 'BAD_REQUEST', 'the auth mode cannot be modified as new users have been inserted into database');
    assertError(await bad({ primary_auth_mode: true }), 400, 'BAD_REQUEST', /^system config items cannot be updated, item: primary_auth_mode/);
    assertError(await bad({ notification_enable: 'no' }), 400, 'BAD_REQUEST', /^item name notification_enable/);
    assertError(await bad({ storage_per_project: 0 }), 400, 'BAD_REQUEST', 'item name storage_per_project: quota value should be -1 or great than zero');
    assertError(await bad({ storage_per_project: '10' }), 400, 'BAD_REQUEST', /^item name storage_per_project/);
    assertError(await bad({ project_creation_restriction: 'nobody' }), 400, 'BAD_REQUEST', 'item name project_creation_restriction: invalid project_creation_restriction, should be adminonly or everyone');
    assertError(await bad({ robot_name_prefix: '   ' }), 400, 'BAD_REQUEST', 'robot_name_prefix cannot be empty or contain only spaces');
    assertError(await bad([1]), 400, 'BAD_REQUEST', /JSON object/);
    // One bad key: the good one beside it is not written either.
    assertError(await bad({ read_only: true, auth_mode: 'oidc_auth' }), 400, 'BAD_REQUEST', /auth_mode/);
    assert.equal((await configurations()).read_only?.value, false);
    assert.equal((await call('GET', '/api/v2.0/projects')).status, 200);
    assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'still-writable' } })).status, 201);
  });

  it('storage_per_project is the limit of new projects; a system admin’s own limit wins; quota_per_project_enable off means none', async () => {
    await put({ storage_per_project: 1048576 });
    assert.deepEqual((await configurations()).storage_per_project, { value: 1048576, editable: true });
    assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'q-default' } })).status, 201);
    assert.equal(await projectLimit('q-default'), 1048576);
    assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'q-own', storage_limit: 2048 } })).status, 201);
    assert.equal(await projectLimit('q-own'), 2048);
    // A user's own storage_limit is replaced by the default (Harbor's rule).
    assert.equal((await call('POST', '/api/v2.0/projects', { auth: userAuth, body: { project_name: 'q-user', storage_limit: 4096 } })).status, 201);
    assert.equal(await projectLimit('q-user'), 1048576);
    await put({ quota_per_project_enable: false });
    assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'q-off', storage_limit: 2048 } })).status, 201);
    assert.equal(await projectLimit('q-off'), -1);
    await put({ quota_per_project_enable: true, storage_per_project: -1 });
    assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'q-back' } })).status, 201);
    assert.equal(await projectLimit('q-back'), -1);
  });

  it('robot_name_prefix names new robots', async () => {
    await put({ robot_name_prefix: 'svc$' });
    assert.equal((await configurations()).robot_name_prefix?.value, 'svc$');
    const perms = [{ kind: 'project', namespace: 'q-back', access: [{ resource: 'repository', action: 'pull' }] }];
    const sys = await call('POST', '/api/v2.0/robots', { body: { name: 'ci', level: 'system', duration: -1, permissions: perms } });
    assert.equal(sys.status, 201, show(sys));
    assert.equal((sys.json as { name: string }).name, 'svc$ci');
    const proj = await call('POST', '/api/v2.0/robots', { body: { name: 'builder', level: 'project', duration: -1, permissions: perms } });
    assert.equal(proj.status, 201, show(proj));
    assert.equal((proj.json as { name: string }).name, 'svc$q-back+builder');
    // Terraform looks robots up by the name without the prefix.
    const found = await call('GET', '/api/v2.0/robots?q=name%3Dci');
    assert.deepEqual((found.json as Array<{ name: string }>).map((r) => r.name), ['svc$ci']);
    // A robot named under the new prefix signs in with its secret, before and after the prefix changes back.
    const basic = (name: string, secret: string) => 'Basic ' + Buffer.from(`${name}:${secret}`).toString('base64');
    const svcAuth = basic('svc$ci', (sys.json as { secret: string }).secret);
    assert.equal((await call('GET', '/api/v2.0/projects/q-back', { auth: svcAuth })).status, 200);
    await put({ robot_name_prefix: 'robot$' });
    const again = await call('POST', '/api/v2.0/robots', { body: { name: 'ci2', level: 'system', duration: -1, permissions: perms } });
    assert.equal((again.json as { name: string }).name, 'robot$ci2');
    assert.equal((await call('GET', '/api/v2.0/projects/q-back', { auth: basic('robot$ci2', (again.json as { secret: string }).secret) })).status, 200);
    // Robots keep their names: svc$ci still signs in after the prefix changed back; a wrong secret does not.
    assert.equal((await call('GET', '/api/v2.0/projects/q-back', { auth: svcAuth })).status, 200);
    assert.equal((await call('GET', '/api/v2.0/projects/q-back', { auth: basic('svc$ci', 'Wrong-secret-1') })).status, 401);
  });

  it('notification_enable, banner_message and project_creation_restriction show in /systeminfo', async () => {
    const before = await systeminfo();
    assert.match(String(before.harbor_version), /^v2\.\d+\.\d+/);
    assert.match(String(before.wharf_version), /^v\d+\.\d+\.\d+/);
    assert.equal(before.project_creation_restriction, 'everyone');
    assert.equal(before.banner_message, '');
    assert.equal(before.oidc_provider_name, '');
    assert.equal(before.authproxy_settings, undefined);
    await put({ notification_enable: false, banner_message: '{"message":"maintenance at 6","type":"info"}', project_creation_restriction: 'adminonly' });
    const after = await systeminfo();
    assert.equal(after.notification_enable, false);
    assert.equal(after.banner_message, '{"message":"maintenance at 6","type":"info"}');
    assert.equal(after.project_creation_restriction, 'adminonly');
    await put({ notification_enable: true, banner_message: '', project_creation_restriction: 'everyone' });
    assert.equal((await systeminfo()).notification_enable, true);
  });

  it('read_only refuses pushes, blob uploads and API writes with Harbor’s answer, then allows them once off', async (t) => {
    await put({ read_only: true });
    assert.equal((await systeminfo()).read_only, true);
    assert.deepEqual((await configurations()).read_only, { value: true, editable: true });
    assertError(await uploadBlob('q-back/app'), 403, 'DENIED', readOnlyMessage);
    assertError(await call('POST', '/api/v2.0/projects', { body: { project_name: 'refused' } }), 403, 'DENIED', readOnlyMessage);
    assertError(await call('DELETE', '/api/v2.0/projects/q-off'), 403, 'DENIED', readOnlyMessage);
    assertError(await call('POST', '/api/v2.0/users', { body: { username: 'nope', password: 'Nope12345!', email: 'n@example.com', realname: 'n' } }), 403, 'DENIED', readOnlyMessage);
    // Reads, registry tokens and the console's sign-in still work.
    assert.equal((await call('GET', '/api/v2.0/projects/q-off')).status, 200);
    assert.equal((await call('GET', '/service/token?service=wharf&scope=repository:q-back/app:pull')).status, 200);
    assert.notEqual((await call('POST', '/c/login', { auth: null, raw: new TextEncoder().encode('principal=admin&password=wrong') })).status, 403);
    const skip = skipWithoutSkopeo();
    let image: OciLayout | null = null;
    if (!skip) {
      image = OciLayout.create();
      layouts.push(image);
      await writeSingleLayerImage(image, 'v1');
      const refused = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, image.ref('v1'), `docker://${w.host}/q-back/app:v1`]);
      assert.notEqual(refused.code, 0, describeRun(refused));
      assert.match(refused.stderr, /read only mode|denied/i, describeRun(refused));
    } else {
      t.diagnostic(`skopeo push not checked: ${skip}`);
    }
    await put({ read_only: false });
    assert.equal((await systeminfo()).read_only, false);
    assert.equal((await uploadBlob('q-back/app')).status, 201);
    assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'allowed-again' } })).status, 201);
    if (image) {
      const pushed = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, image.ref('v1'), `docker://${w.host}/q-back/app:v1`]);
      assert.equal(pushed.code, 0, describeRun(pushed));
    }
  });

  it('settings live in the configurations table as JSON text; each change is audited as Harbor’s update_configuration', async () => {
    const count = async () => ((await call('GET', '/api/v2.0/audit-logs?q=resource_type%3Dconfiguration&page_size=100')).json as unknown[]).length;
    const before = await count();
    await put({ storage_per_project: 5000 });
    const rows = await w.wharf.db.kysely.selectFrom('configurations').selectAll().where('key', '=', 'storage_per_project').execute();
    assert.deepEqual(rows, [{ key: 'storage_per_project', value: '5000' }]);
    const logs = await call('GET', '/api/v2.0/audit-logs?q=resource_type%3Dconfiguration&sort=-op_time');
    const [last] = logs.json as Array<{ username: string; operation: string; resource_type: string; resource: string }>;
    assert.deepEqual(last && [last.username, last.operation, last.resource_type, last.resource], ['admin', 'update', 'configuration', 'configuration'], show(logs));
    assert.equal(await count(), before + 1);
    // A refused PUT writes nothing and records nothing.
    assert.equal((await call('PUT', '/api/v2.0/configurations', { body: { storage_per_project: 7, auth_mode: 'x' } })).status, 400);
    assert.equal(await count(), before + 1);
    await put({ storage_per_project: -1 });
  });
});
