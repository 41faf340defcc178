import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError, type ListQuery } from '../domain/index.ts';
import type { ScannerRow } from '../db/index.ts';
import { checkReservedName, parseIsDefault, parsePingSettings, parseProjectScanner, parseRegistration, registrationView, withLegacyFilters } from './registration-spec.ts';
import { idsInForce, reusesSystemAllowlist } from './allowlists.ts';

function refused(fn: () => unknown, message: string): void {
  assert.throws(fn, (e) => isDomainError(e, 'BAD_REQUEST') && e.message === message);
}

test('parseRegistration: Harbor’s fields, defaults and normalised URL', () => {
  assert.deepEqual(parseRegistration({ name: 'trivy-1', url: 'http://trivy:8080/', description: 'd', skip_certVerify: true, use_internal_addr: true }), {
    name: 'trivy-1',
    description: 'd',
    url: 'http://trivy:8080',
    auth: '',
    accessCredential: '',
    skipCertVerify: true,
    useInternalAddr: true,
    disabled: false,
  });
  assert.equal(parseRegistration({ name: 'a', url: 'https://a', auth: 'Bearer', access_credential: 'tok' }).accessCredential, 'tok');
  // An auth-less registration keeps no credential, whatever was sent.
  assert.equal(parseRegistration({ name: 'a', url: 'https://a', access_credential: 'tok' }).accessCredential, '');
});

test('parseRegistration: an update with an empty credential keeps the stored one', () => {
  assert.equal(parseRegistration({ name: 'a', url: 'https://a', auth: 'APIKey' }, { update: true, storedCredential: 'old' }).accessCredential, null);
  assert.equal(parseRegistration({ name: 'a', url: 'https://a', auth: 'APIKey', access_credential: 'new' }, { update: true, storedCredential: 'old' }).accessCredential, 'new');
  refused(() => parseRegistration({ name: 'a', url: 'https://a', auth: 'APIKey' }, { update: true, storedCredential: '' }), 'access_credential is required for auth type APIKey');
});

test('parseRegistration and ping settings: Harbor’s messages', () => {
  refused(() => parseRegistration({ url: 'http://a' }), 'missing registration name');
  refused(() => parseRegistration({ name: 'a' }), 'scanner registration validate: url is required');
  refused(() => parseRegistration({ name: 'a', url: 'ftp://a' }), 'scanner registration validate: invalid URL ftp://a: use http:// or https://, a host, and no query or fragment');
  refused(() => parseRegistration({ name: 'a', url: 'http://a/x?y=1' }), 'scanner registration validate: invalid URL http://a/x?y=1: use http:// or https://, a host, and no query or fragment');
  refused(() => parseRegistration({ name: 'a', url: 'not a url' }), 'scanner registration validate: invalid URL not a url: use http:// or https://, a host, and no query or fragment');
  refused(() => parseRegistration({ name: 'a', url: 'http://a', auth: 'Digest', access_credential: 'x' }), 'auth type Digest is not supported');
  refused(() => parseRegistration({ name: 'a', url: 'http://a', auth: 'Basic' }), 'access_credential is required for auth type Basic');
  refused(() => parseRegistration({ name: 'a', url: 'http://a', disabled: 'yes' }), 'disabled must be true or false, not yes');
  refused(() => parseRegistration({ name: 7, url: 'http://a' }), 'name must be a string, not 7');
  refused(() => parseRegistration({ name: 'n'.repeat(129), url: 'http://a' }), 'name is longer than 128 characters');
  refused(() => parseRegistration([]), 'the body must be a JSON object');
  refused(() => checkReservedName('Trivy'), 'name "Trivy" is reserved, please try a different name');
  refused(() => checkReservedName('Wharf'), 'name "Wharf" is reserved, please try a different name');
  assert.doesNotThrow(() => checkReservedName('trivy'));
  assert.deepEqual(parsePingSettings({ name: 'a', url: 'http://a/', auth: 'Bearer', access_credential: 't' }), { name: 'a', url: 'http://a', auth: 'Bearer', accessCredential: 't' });
  refused(() => parsePingSettings({ name: 'a', url: 'http://a', auth: 'Bearer' }), 'access_credential is required for auth type Bearer');
});

test('IsDefault and ProjectScanner bodies', () => {
  assert.equal(parseIsDefault({ is_default: true }), true);
  assert.equal(parseIsDefault({ is_default: false }), false);
  assert.equal(parseIsDefault({}), false);
  refused(() => parseIsDefault({ is_default: 'true' }), 'is_default must be true or false, not true');
  assert.equal(parseProjectScanner({ uuid: 'u-1' }), 'u-1');
  refused(() => parseProjectScanner({}), 'missing scanner UUID');
  refused(() => parseProjectScanner({ uuid: 3 }), 'uuid must be a string, not 3');
});

test('legacy list parameters override q: substring, then exact', () => {
  const list: ListQuery = { page: 1, pageSize: 10, sort: [], filters: new Map([['name', { kind: 'exact', value: 'q' }], ['url', { kind: 'exact', value: 'u' }]]) };
  const out = withLegacyFilters(list, { name: 'tri', description: 'free' });
  assert.deepEqual([...out.filters], [['name', { kind: 'fuzzy', value: 'tri' }], ['url', { kind: 'exact', value: 'u' }], ['description', { kind: 'fuzzy', value: 'free' }]]);
  assert.deepEqual(withLegacyFilters(list, { name: 'tri', ex_name: 'Trivy', ex_url: 'http://t' }).filters.get('name'), { kind: 'exact', value: 'Trivy' });
  assert.deepEqual(withLegacyFilters(list, { ex_url: 'http://t' }).filters.get('url'), { kind: 'exact', value: 'http://t' });
  assert.equal(list.filters.get('name')?.kind, 'exact', 'the request’s own map is left alone');
});

const row: ScannerRow = {
  id: 1,
  uuid: 'u-1',
  name: 'trivy-1',
  description: '',
  url: 'http://trivy:8080',
  auth: 'Bearer',
  access_credential: 'secret',
  skip_cert_verify: 0,
  use_internal_addr: 1,
  disabled: 0,
  is_default: 1,
  immutable: 0,
  adapter: '',
  vendor: '',
  version: '',
  health: '',
  capabilities: null,
  creation_time: 0,
  update_time: 1000,
};

test('registrationView: the credential never shows; metadata fields only after a fetch', () => {
  assert.deepEqual(registrationView(row), {
    uuid: 'u-1',
    name: 'trivy-1',
    description: '',
    url: 'http://trivy:8080',
    disabled: false,
    is_default: true,
    auth: 'Bearer',
    access_credential: '',
    skip_certVerify: false,
    use_internal_addr: true,
    create_time: '1970-01-01T00:00:00.000Z',
    update_time: '1970-01-01T00:00:01.000Z',
    health: '',
  });
  const fetched = registrationView({ ...row, adapter: 'Trivy', vendor: 'Aqua Security', version: 'v0.50.1', health: 'healthy', capabilities: '{"support_vulnerability":true,"support_sbom":true}' }, 'http://shown');
  assert.equal(fetched.url, 'http://shown');
  assert.deepEqual([fetched.adapter, fetched.vendor, fetched.version, fetched.health], ['Trivy', 'Aqua Security', 'v0.50.1', 'healthy']);
  assert.deepEqual(fetched.capabilities, { support_vulnerability: true, support_sbom: true });
});

test('reuse_sys_cve_allowlist: absent or true reuses the system list', () => {
  assert.equal(reusesSystemAllowlist(undefined), true);
  assert.equal(reusesSystemAllowlist('{}'), true);
  assert.equal(reusesSystemAllowlist('{"reuse_sys_cve_allowlist":"true"}'), true);
  assert.equal(reusesSystemAllowlist('{"reuse_sys_cve_allowlist":"false"}'), false);
  assert.equal(reusesSystemAllowlist('{"reuse_sys_cve_allowlist":"0"}'), false);
  assert.equal(reusesSystemAllowlist('not json'), true);
});

test('idsInForce: an expired list is empty', () => {
  const list = { id: 1, project_id: null, expires_at: 100, items: '["CVE-1","CVE-2"]', creation_time: 0, update_time: 0 };
  assert.deepEqual([...idsInForce(list, 99_999)], ['CVE-1', 'CVE-2']);
  assert.deepEqual([...idsInForce(list, 100_000)], []);
  assert.deepEqual([...idsInForce({ ...list, expires_at: null }, 10 ** 15)], ['CVE-1', 'CVE-2']);
  assert.deepEqual([...idsInForce(undefined, 0)], []);
});
