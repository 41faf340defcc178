/**
 * Project metadata over real HTTP (issue 8): POST and PUT /projects accept Harbor's metadata keys
 * only, with bounded values, and answer anything else with a 400 in Harbor's error format; rows
 * stored by older versions with any keys read back bounded and are cleaned by the next update.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, type ApiAnswer } from '../helpers/webhook-client.ts';
import type { ProjectView } from '../../src/projects/index.ts';

// `a.json as T` names the shape the API documents for a parsed body; the assertions check it.
function harborError(a: ApiAnswer): { code: string; message: string } {
  const errors = (a.json as { errors?: Array<{ code: string; message: string }> } | undefined)?.errors;
  assert.ok(Array.isArray(errors) && errors.length === 1, `Harbor's error format expected: ${a.text.slice(0, 300)}`);
  const [e] = errors;
  assert.ok(e);
  return e;
}

function assertBadRequest(a: ApiAnswer, message: RegExp, what: string): void {
  assert.equal(a.status, 400, `${what}: ${a.text.slice(0, 300)}`);
  const e = harborError(a);
  assert.equal(e.code, 'BAD_REQUEST');
  assert.match(e.message, message);
}

describe('project metadata', () => {
  let w: TestWharf;
  before(async () => {
    w = await startWharf();
  });
  after(async () => {
    await w.close();
  });

  const create = (body: unknown) => api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body });
  const update = (name: string, body: unknown) => api(w.url, 'PUT', `/api/v2.0/projects/${name}`, { auth: adminAuth, body });
  const read = async (name: string): Promise<ProjectView> => {
    const a = await api(w.url, 'GET', `/api/v2.0/projects/${name}`, { auth: adminAuth });
    assert.equal(a.status, 200, explain('GET', name, a));
    return a.json as ProjectView;
  };

  it('refuses 20,000 keys on create and on update; the anonymous listing stays small', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 20_000; i++) many[`key${i}`] = 'x';
    assertBadRequest(await create({ project_name: 'flood', metadata: { public: 'true', ...many } }), /^invalid key: key0 \(project metadata keys: public, /, 'create');
    assert.equal((await create({ project_name: 'flood', metadata: { public: 'true' } })).status, 201);
    assertBadRequest(await update('flood', { metadata: many }), /^invalid key: key0 /, 'update');
    const list = await api(w.url, 'GET', '/api/v2.0/projects?name=flood');
    assert.equal(list.status, 200);
    assert.ok(list.text.length < 2000, `listing is ${list.text.length} bytes`);
    assert.deepEqual((list.json as ProjectView[])[0]?.metadata, { public: 'true' });
  });

  it('refuses an unknown key, naming it', async () => {
    assertBadRequest(await create({ project_name: 'typo', metadata: { auto_scann: 'true' } }), /^invalid key: auto_scann /, 'create');
    assert.equal((await create({ project_name: 'typo' })).status, 201);
    assertBadRequest(await update('typo', { metadata: { owner: 'me' } }), /^invalid key: owner /, 'update');
    assert.deepEqual((await read('typo')).metadata, { public: 'false' });
  });

  it('refuses bad values with Harbor’s message and the expected form', async () => {
    assert.equal((await create({ project_name: 'values' })).status, 201);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ auto_scan: 'yes' }, /^invalid value: yes \(metadata\.auto_scan must be "true" or "false"\)/],
      [{ prevent_vul: 1 }, /^invalid value: 1 /],
      [{ severity: 'apocalyptic' }, /metadata\.severity must be "none", "low", "medium", "high", "critical"/],
      [{ severity: 'x'.repeat(100_000) }, /^invalid value: x{64}\.\.\. /],
      [{ proxy_speed_kb: 'fast' }, /metadata\.proxy_speed_kb must be a 32-bit integer/],
      [{ enable_content_trust: { nested: true } }, /metadata\.enable_content_trust must be "true" or "false"/],
      [{ retention_id: '12' }, /retention_id in the request's payload when updating a project should be omitted/],
    ];
    for (const [metadata, message] of cases) {
      assertBadRequest(await update('values', { metadata }), message, JSON.stringify(metadata).slice(0, 80));
    }
    assertBadRequest(await create({ project_name: 'values2', metadata: { retention_id: '3' } }), /when creating a project should be omitted/, 'retention_id on create');
    assertBadRequest(await create({ project_name: 'values2', metadata: 'public' }), /metadata must be an object/, 'a string');
    assert.deepEqual((await read('values')).metadata, { public: 'false' });
  });

  it('accepts every Harbor key; stores booleans and severity normalised; drops proxy-cache and retention keys', async () => {
    const metadata = {
      public: 'True',
      enable_content_trust: 'false',
      enable_content_trust_cosign: 'f',
      prevent_vul: 'true',
      severity: 'HIGH',
      auto_scan: '1',
      auto_sbom_generation: 'true',
      reuse_sys_cve_allowlist: 'false',
      retention_id: '',
      proxy_speed_kb: '1024',
      max_upstream_conn: '-1',
      proxy_cache_local_on_not_found: 'true',
      proxy_referrer_api: 'false',
      proxy_cache_filter_pattern: 'library/**',
      proxy_cache_filter_kind: 'doublestar',
    };
    const c = await create({ project_name: 'harbor-keys', metadata });
    assert.equal(c.status, 201, c.text);
    const expected = {
      public: 'true',
      enable_content_trust: 'false',
      enable_content_trust_cosign: 'false',
      prevent_vul: 'true',
      severity: 'high',
      auto_scan: 'true',
      auto_sbom_generation: 'true',
      reuse_sys_cve_allowlist: 'false',
    };
    assert.deepEqual((await read('harbor-keys')).metadata, expected);
    // PUT merges into what is stored; null leaves a key as it is (Harbor's fields are nullable).
    const u = await update('harbor-keys', { metadata: { severity: 'critical', auto_scan: 'false', prevent_vul: null, retention_id: '' } });
    assert.equal(u.status, 200, u.text);
    assert.deepEqual((await read('harbor-keys')).metadata, { ...expected, severity: 'critical', auto_scan: 'false' });
  });

  it('a row stored by an older version with junk keys reads back bounded; the next update drops the junk', async () => {
    assert.equal((await create({ project_name: 'legacy', metadata: { public: 'true' } })).status, 201);
    const junk: Record<string, string> = { auto_scan: 'true', severity: 'Low', prevent_vul: 'maybe' };
    for (let i = 0; i < 20_000; i++) junk[`junk${i}`] = 'y'.repeat(50);
    await w.wharf.db.kysely.updateTable('projects').set({ metadata: JSON.stringify(junk) }).where('name', '=', 'legacy').execute();

    const list = await api(w.url, 'GET', '/api/v2.0/projects?name=legacy');
    assert.equal(list.status, 200);
    assert.ok(list.text.length < 2000, `anonymous listing is ${list.text.length} bytes`);
    assert.deepEqual((list.json as ProjectView[])[0]?.metadata, { auto_scan: 'true', severity: 'low', public: 'true' });

    assert.equal((await update('legacy', { metadata: { auto_sbom_generation: 'true' } })).status, 200);
    const row = await w.wharf.db.kysely.selectFrom('projects').select('metadata').where('name', '=', 'legacy').executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(row.metadata), { auto_scan: 'true', severity: 'low', auto_sbom_generation: 'true' });
  });
});
