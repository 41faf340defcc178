import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMetadataInput, projectMetadataKeys, readStoredMetadata } from './project-metadata-spec.ts';
import { isDomainError } from '../domain/index.ts';

function refused(v: unknown, pattern: RegExp, create = true): void {
  assert.throws(
    () => parseMetadataInput(v, { create }),
    (e) => isDomainError(e, 'BAD_REQUEST') && pattern.test(e.message),
    `${JSON.stringify(v)} should be refused with ${pattern}`,
  );
}

test('Harbor’s keys are accepted; booleans and severities are normalised; proxy-only keys are dropped', () => {
  const r = parseMetadataInput(
    {
      public: 'TRUE',
      enable_content_trust: 'false',
      enable_content_trust_cosign: 't',
      prevent_vul: true,
      severity: 'High',
      auto_scan: '1',
      auto_sbom_generation: 'false',
      reuse_sys_cve_allowlist: 'true',
      retention_id: '',
      proxy_speed_kb: '-1',
      max_upstream_conn: '10',
      proxy_cache_local_on_not_found: 'false',
      proxy_referrer_api: 'true',
      proxy_cache_filter_pattern: 'library/**',
      proxy_cache_filter_kind: 'doublestar',
    },
    { create: true },
  );
  assert.equal(r.isPublic, true);
  assert.deepEqual(r.values, {
    enable_content_trust: 'false',
    enable_content_trust_cosign: 'true',
    prevent_vul: 'true',
    severity: 'high',
    auto_scan: 'true',
    auto_sbom_generation: 'false',
    reuse_sys_cve_allowlist: 'true',
  });
  assert.equal(projectMetadataKeys.length, 15);
  assert.deepEqual(parseMetadataInput({ auto_scan: null }, { create: false }), { isPublic: undefined, values: {} });
  assert.deepEqual(parseMetadataInput(undefined, { create: false }), { isPublic: undefined, values: {} });
});

test('unknown keys are refused with Harbor’s message, listing the keys', () => {
  refused({ auto_scann: 'true' }, /^invalid key: auto_scann \(project metadata keys: public, enable_content_trust, /);
  refused({ ['k'.repeat(1000)]: 'v' }, /^invalid key: k{64}\.\.\. /);
  refused({ __proto__: 'x', constructor: 'y' }, /invalid key: constructor/);
});

test('bad values are refused, naming the key and the expected form', () => {
  refused({ public: 'yes' }, /invalid value: yes \(metadata.public must be "true" or "false"\)/);
  refused({ auto_scan: 'on' }, /metadata.auto_scan must be "true" or "false"/);
  refused({ prevent_vul: 1 }, /invalid value: 1 /);
  refused({ severity: 'severe' }, /metadata.severity must be "none", "low", "medium", "high", "critical"/);
  refused({ severity: 'x'.repeat(10_000) }, /^invalid value: x{64}\.\.\. /);
  refused({ proxy_speed_kb: '2147483648' }, /32-bit integer/);
  refused({ max_upstream_conn: 5 }, /32-bit integer/);
  refused({ proxy_cache_filter_kind: 'glob' }, /"doublestar", "regex" or ""/);
  refused({ proxy_cache_filter_pattern: 'a'.repeat(1025) }, /at most 1024 characters/);
  refused({ retention_id: '7' }, /when creating a project should be omitted/);
  refused({ retention_id: '7' }, /when updating a project should be omitted/, false);
  refused(['public'], /metadata must be an object/);
});

test('stored rows read back bounded: unknown keys and invalid values are left out', () => {
  const junk: Record<string, string> = { auto_scan: 'true', severity: 'CRITICAL', prevent_vul: 'maybe' };
  for (let i = 0; i < 20_000; i++) junk[`k${i}`] = 'v';
  assert.deepEqual(readStoredMetadata(JSON.stringify(junk)), { auto_scan: 'true', severity: 'critical' });
  assert.deepEqual(readStoredMetadata('not json'), {});
  assert.deepEqual(readStoredMetadata('[1]'), {});
  assert.deepEqual(readStoredMetadata(null), {});
});

test('severity: negligible is stored as none, as Harbor stores it', () => {
  assert.deepEqual(parseMetadataInput({ severity: 'Negligible' }, { create: true }).values, { severity: 'none' });
  assert.deepEqual(readStoredMetadata('{"severity":"negligible"}'), { severity: 'none' });
});
