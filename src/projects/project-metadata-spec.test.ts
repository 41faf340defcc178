import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMetadataInput, parseMetadataPair, projectMetadataKeys, readStoredMetadata, retentionIdReadOnly, writableMetadataKey } from './project-metadata-spec.ts';
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
  assert.deepEqual(parseMetadataInput({ auto_scan: null }, { create: false }), { isPublic: undefined, values: {}, proxy: {} });
  assert.deepEqual(parseMetadataInput(undefined, { create: false }), { isPublic: undefined, values: {}, proxy: {} });
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

test('/metadatas writes one pair with Harbor’s messages and the stored value forms', () => {
  assert.deepEqual(parseMetadataPair({ auto_scan: 'TRUE' }), { key: 'auto_scan', value: 'true' });
  assert.deepEqual(parseMetadataPair({ public: false }), { key: 'public', value: 'false' });
  assert.deepEqual(parseMetadataPair({ severity: 'Negligible' }), { key: 'severity', value: 'none' });
  // PUT reads the path's key from the body and ignores the others; a missing one is an empty value.
  assert.deepEqual(parseMetadataPair({ prevent_vul: '1', auto_scan: 'junk' }, 'prevent_vul'), { key: 'prevent_vul', value: 'true' });
  const refusedPair = (body: unknown, message: string, key?: string) =>
    assert.throws(() => parseMetadataPair(body, key), (e) => isDomainError(e, 'BAD_REQUEST') && e.message === message, JSON.stringify(body));
  refusedPair({}, 'only allow one key/value pair');
  refusedPair({ auto_scan: 'true', prevent_vul: 'true' }, 'only allow one key/value pair');
  refusedPair([], 'the body must be a JSON object of string values');
  refusedPair('x', 'the body must be a JSON object of string values');
  refusedPair({ auto_scann: 'true' }, 'invalid key: auto_scann');
  refusedPair({ proxy_speed_kb: '10' }, 'invalid key: proxy_speed_kb');
  refusedPair({ retention_id: '3' }, retentionIdReadOnly);
  refusedPair({ auto_scan: 'yes' }, 'invalid value: yes');
  refusedPair({ severity: 'urgent' }, 'invalid value: urgent');
  refusedPair({ auto_scan: 'true' }, 'invalid value: ', 'prevent_vul');
  refusedPair({ auto_scan: 'true' }, 'invalid key: nope', 'nope');
  assert.equal(writableMetadataKey('public'), 'public');
  assert.throws(() => writableMetadataKey('retention_id'), (e) => isDomainError(e, 'BAD_REQUEST') && e.message === retentionIdReadOnly);
});

test('proxy-cache keys: two are returned apart (stored for proxy-cache projects), read back normalised', () => {
  const r = parseMetadataInput({ proxy_speed_kb: '-1', max_upstream_conn: '10', proxy_cache_local_on_not_found: 'f', proxy_referrer_api: 'true' }, { create: true });
  assert.deepEqual(r.values, {});
  assert.deepEqual(r.proxy, { proxy_speed_kb: '-1', proxy_cache_local_on_not_found: 'false' });
  assert.deepEqual(readStoredMetadata('{"proxy_speed_kb":"512","proxy_cache_local_on_not_found":"true","max_upstream_conn":"3"}'), { proxy_speed_kb: '512', proxy_cache_local_on_not_found: 'true' });
  assert.deepEqual(readStoredMetadata('{"proxy_speed_kb":"fast","proxy_cache_local_on_not_found":"maybe"}'), {});
});
