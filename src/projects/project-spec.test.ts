import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../domain/index.ts';
import { parseNewProject, parseProjectChange } from './project-spec.ts';

test('a create: defaults, the deprecated public flag, metadata public winning', () => {
  assert.deepEqual(parseNewProject({ project_name: 'team-a' }), { name: 'team-a', isPublic: false, storageLimit: null, metadata: {}, registryId: null, proxyMetadata: {} });
  assert.equal(parseNewProject({ project_name: 'p', public: 'true' }).isPublic, true);
  assert.equal(parseNewProject({ project_name: 'p', public: 'true', metadata: { public: 'false' } }).isPublic, false);
  assert.equal(parseNewProject({ project_name: 'p', storage_limit: 1024 }).storageLimit, 1024);
});

test('a create: Harbor-style refusals', () => {
  for (const [body, message] of [
    [null, /JSON object/],
    [{}, /project_name is required/],
    [{ project_name: 'Team' }, /invalid project name "Team"/],
    [{ project_name: 'a--b' }, /invalid project name/],
    [{ project_name: 'p', registry_id: 0 }, /invalid registry_id 0: it must be greater than 0/],
    [{ project_name: 'p', registry_id: -2 }, /greater than 0/],
    [{ project_name: 'p', registry_id: '3' }, /registry_id must be an integer/],
    [{ project_name: 'p', storage_limit: 0 }, /storage_limit/],
    [{ project_name: 'p', public: 'maybe' }, /public must be/],
  ] as const) {
    assert.throws(() => parseNewProject(body), (e) => isDomainError(e, 'BAD_REQUEST') && message.test(e.message), JSON.stringify(body));
  }
});

test('a proxy-cache create: registry_id and the proxy-cache keys kept apart', () => {
  const p = parseNewProject({ project_name: 'hub', registry_id: 4, metadata: { proxy_speed_kb: '0100', proxy_cache_local_on_not_found: 'T', proxy_referrer_api: 'true', auto_scan: 'true' } });
  assert.equal(p.registryId, 4);
  assert.deepEqual(p.proxyMetadata, { proxy_speed_kb: '100', proxy_cache_local_on_not_found: 'true' });
  assert.deepEqual(p.metadata, { auto_scan: 'true' });
  assert.equal(parseNewProject({ project_name: 'p', registry_id: null }).registryId, null);
});

test('an update: only what was sent; no rename', () => {
  assert.deepEqual(parseProjectChange({}, 'p'), { metadata: {}, proxyMetadata: {} });
  assert.deepEqual(parseProjectChange({ project_name: 'p', storage_limit: -1, metadata: { public: 'true' } }, 'p'), { isPublic: true, storageLimit: -1, metadata: {}, proxyMetadata: {} });
  assert.throws(() => parseProjectChange({ project_name: 'q' }, 'p'), (e) => isDomainError(e, 'BAD_REQUEST') && /renamed/.test(e.message));
});

test('cve_allowlist: parsed on create (project_id 0) and on update (0 or the project’s id)', () => {
  assert.deepEqual(parseNewProject({ project_name: 'p', cve_allowlist: { items: [{ cve_id: 'CVE-2023-4863' }], expires_at: 1767225600 } }).allowlist, { expiresAt: 1767225600, items: ['CVE-2023-4863'] });
  assert.throws(() => parseNewProject({ project_name: 'p', cve_allowlist: { project_id: 3 } }), (e) => isDomainError(e, 'BAD_REQUEST') && e.message === "project_id in cve_allowlist must be 0 but it's 3");
  assert.deepEqual(parseProjectChange({ cve_allowlist: { project_id: 7, items: [] } }, 'p', 7), { metadata: {}, proxyMetadata: {}, allowlist: { expiresAt: null, items: [] } });
  assert.throws(() => parseProjectChange({ cve_allowlist: { project_id: 8 } }, 'p', 7), (e) => isDomainError(e, 'BAD_REQUEST') && e.message === "project_id in cve_allowlist must be 7 but it's 8");
  assert.equal(parseProjectChange({ cve_allowlist: null }, 'p', 7).allowlist, undefined);
});
