/**
 * Harbor's `/projects/{p}/metadatas/` over real HTTP (src/projects/project-metadatas.ts): list, add
 * (one pair, 409 when set), get (`{}` when unset), update, delete, with Harbor's messages, over the
 * storage `PUT /projects` uses; `retention_id` is read-only; concurrent writes of different keys
 * all land; every write is audited; permissions.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, type ApiAnswer } from '../helpers/webhook-client.ts';
import type { ProjectView } from '../../src/projects/index.ts';

let w: TestWharf;
let projectId = 0;
const password = 'Passw0rdMeta';
const basic = (u: string) => 'Basic ' + Buffer.from(`${u}:${password}`).toString('base64');
const meta = '/projects/meta/metadatas';

/** A parsed JSON body typed as the test reads it. */
function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number, body?: unknown, auth = adminAuth, headers?: Record<string, string>): Promise<ApiAnswer> {
  const a = await api(w.url, method, `/api/v2.0${path}`, { auth, ...(body === undefined ? {} : { body }), ...(headers ? { headers } : {}) });
  assert.equal(a.status, status, explain(method, path, a));
  return a;
}

/** The one error of a Harbor error body, as [code, message]. */
function error(a: ApiAnswer): [string, string] {
  const e = shape<{ errors: Array<{ code: string; message: string }> }>(a.json).errors;
  assert.equal(e.length, 1, a.text);
  return [e[0]?.code ?? '', e[0]?.message ?? ''];
}

const list = async (auth = adminAuth) => shape<Record<string, string>>((await call('GET', `${meta}/`, 200, undefined, auth)).json);

before(async () => {
  w = await startWharf();
  const p = await call('POST', '/projects', 201, { project_name: 'meta', metadata: { public: 'false', auto_scan: 'true' } });
  projectId = Number(String(p.headers.location).split('/').pop());
  for (const [username, role] of [['m-padmin', 1], ['m-maint', 4], ['m-guest', 3]] as const) {
    await call('POST', '/users', 201, { username, password, email: `${username}@example.com`, realname: username });
    await call('POST', '/projects/meta/members', 201, { role_id: role, member_user: { username } });
  }
  await call('POST', '/users', 201, { username: 'm-outsider', password, email: 'm-outsider@example.com', realname: 'o' });
});

after(async () => {
  await w.close();
});

describe('/projects/{p}/metadatas/', () => {
  it('lists and reads keys, with or without the slash, by name or id', async () => {
    assert.deepEqual(await list(), { public: 'false', auto_scan: 'true' });
    assert.deepEqual(shape<unknown>((await call('GET', meta, 200)).json), { public: 'false', auto_scan: 'true' });
    assert.deepEqual(shape<unknown>((await call('GET', `/projects/${projectId}/metadatas/auto_scan`, 200)).json), { auto_scan: 'true' });
    assert.deepEqual(shape<unknown>((await call('GET', `${meta}/public`, 200)).json), { public: 'false' });
    assert.deepEqual(shape<unknown>((await call('GET', `${meta}/severity`, 200)).json), {});
    assert.deepEqual(shape<unknown>((await call('GET', `${meta}/anything`, 200)).json), {});
    assert.equal(error(await call('GET', `/projects/${projectId}/metadatas/`, 404, undefined, adminAuth, { 'x-is-resource-name': 'true' }))[1], `project ${projectId} not found`);
    assert.equal(error(await call('GET', '/projects/nosuch/metadatas/', 404))[1], 'project nosuch not found');
  });

  it('adds one key; a key already set is a 409', async () => {
    await call('POST', `${meta}/`, 200, { severity: 'High' }, basic('m-padmin'));
    assert.deepEqual(shape<unknown>((await call('GET', `${meta}/severity`, 200)).json), { severity: 'high' });
    const project = shape<ProjectView>((await call('GET', '/projects/meta', 200)).json);
    assert.deepEqual(project.metadata, { public: 'false', auto_scan: 'true', severity: 'high' });
    assert.deepEqual(error(await call('POST', meta, 409, { severity: 'low' })), ['CONFLICT', `metadata severity already exists for project ${projectId}`]);
    assert.deepEqual(error(await call('POST', meta, 409, { public: 'true' })), ['CONFLICT', `metadata public already exists for project ${projectId}`]);
    assert.deepEqual(error(await call('POST', meta, 400, { prevent_vul: 'true', auto_scan: 'false' })), ['BAD_REQUEST', 'only allow one key/value pair']);
    assert.deepEqual(error(await call('POST', meta, 400, {})), ['BAD_REQUEST', 'only allow one key/value pair']);
    assert.deepEqual(error(await call('POST', meta, 400, { auto_scann: 'true' })), ['BAD_REQUEST', 'invalid key: auto_scann']);
    assert.deepEqual(error(await call('POST', meta, 400, { prevent_vul: 'maybe' })), ['BAD_REQUEST', 'invalid value: maybe']);
    assert.deepEqual(error(await call('POST', meta, 400, { retention_id: '5' })), [
      'BAD_REQUEST',
      "retention_id is set by the project's tag retention policy (/retentions) and cannot be written through /metadatas",
    ]);
    assert.deepEqual(await list(), { public: 'false', auto_scan: 'true', severity: 'high' });
  });

  it('updates a key from the body’s value for it, set or not', async () => {
    await call('PUT', `${meta}/auto_scan`, 200, { auto_scan: 'FALSE', severity: 'junk' });
    await call('PUT', `${meta}/prevent_vul`, 200, { prevent_vul: true });
    await call('PUT', `${meta}/public`, 200, { public: 'true' });
    assert.deepEqual(await list(), { public: 'true', auto_scan: 'false', severity: 'high', prevent_vul: 'true' });
    // Public now: anyone may read the project.
    assert.equal((await call('GET', '/projects/meta', 200, undefined, '')).status, 200);
    assert.deepEqual(error(await call('PUT', `${meta}/auto_scan`, 400, { prevent_vul: 'true' })), ['BAD_REQUEST', 'invalid value: ']);
    assert.deepEqual(error(await call('PUT', `${meta}/retention_id`, 400, { retention_id: '' }))[0], 'BAD_REQUEST');
    assert.deepEqual(error(await call('PUT', `${meta}/proxy_speed_kb`, 400, { proxy_speed_kb: '10' })), ['BAD_REQUEST', 'invalid key: proxy_speed_kb']);
  });

  it('deletes a key; deleting public makes the project private', async () => {
    await call('DELETE', `${meta}/severity`, 200);
    assert.deepEqual(shape<unknown>((await call('GET', `${meta}/severity`, 200)).json), {});
    await call('DELETE', `${meta}/severity`, 200);
    await call('DELETE', `${meta}/public`, 200);
    assert.deepEqual(await list(), { public: 'false', auto_scan: 'false', prevent_vul: 'true' });
    assert.equal((await call('GET', '/projects/meta', 401, undefined, '')).status, 401);
    assert.equal(error(await call('DELETE', `${meta}/retention_id`, 400))[0], 'BAD_REQUEST');
    assert.deepEqual(error(await call('DELETE', `${meta}/nope`, 400)), ['BAD_REQUEST', 'invalid key: nope']);
  });

  it('lets concurrent writes of different keys all land, and audits each write', async () => {
    const before = await w.wharf.db.kysely.selectFrom('audit_log').select('id').where('resource_type', '=', 'project').where('operation', '=', 'update').execute();
    const keys = ['enable_content_trust', 'enable_content_trust_cosign', 'auto_sbom_generation', 'reuse_sys_cve_allowlist', 'severity'] as const;
    await Promise.all(keys.map((k) => call('PUT', `${meta}/${k}`, 200, { [k]: k === 'severity' ? 'critical' : 'true' })));
    assert.deepEqual(await list(), {
      public: 'false',
      auto_scan: 'false',
      prevent_vul: 'true',
      enable_content_trust: 'true',
      enable_content_trust_cosign: 'true',
      auto_sbom_generation: 'true',
      reuse_sys_cve_allowlist: 'true',
      severity: 'critical',
    });
    const afterRows = await w.wharf.db.kysely.selectFrom('audit_log').select(['username', 'resource']).where('resource_type', '=', 'project').where('operation', '=', 'update').orderBy('id').execute();
    assert.deepEqual(afterRows.slice(before.length), keys.map(() => ({ username: 'admin', resource: 'meta' })));
  });

  it('reads need a role in the project; writes need the project admin', async () => {
    assert.deepEqual(Object.keys(await list(basic('m-guest'))).sort(), ['auto_sbom_generation', 'auto_scan', 'enable_content_trust', 'enable_content_trust_cosign', 'prevent_vul', 'public', 'reuse_sys_cve_allowlist', 'severity']);
    assert.equal(error(await call('GET', `${meta}/`, 403, undefined, basic('m-outsider')))[0], 'FORBIDDEN');
    assert.equal(error(await call('GET', `${meta}/`, 401, undefined, ''))[0], 'UNAUTHORIZED');
    for (const user of ['m-maint', 'm-guest', 'm-outsider']) {
      assert.equal(error(await call('PUT', `${meta}/auto_scan`, 403, { auto_scan: 'true' }, basic(user)))[0], 'FORBIDDEN', user);
      assert.equal(error(await call('DELETE', `${meta}/auto_scan`, 403, undefined, basic(user)))[0], 'FORBIDDEN', user);
    }
    await call('DELETE', `${meta}/auto_scan`, 200, undefined, basic('m-padmin'));
    assert.equal((await list()).auto_scan, undefined);
  });
});
