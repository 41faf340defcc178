/** The adapter client's pure parts: Refresh-After, metadata reading and Harbor's checks, capabilities, auth headers. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdapterError, adapterAuthHeaders, capabilitiesOf, parseMetadata, parseRefreshAfter, validateMetadata } from './client.ts';
import { DOCKER_MANIFEST, OCI_MANIFEST, SBOM_REPORT_MIME, VULN_REPORT_MIME_1_1, VULN_REPORT_MIME_HARBOR, maxSeverity, preferredWaitSeconds, sameMediaType, type ScannerAdapterMetadata } from './protocol.ts';

const trivy: ScannerAdapterMetadata = {
  scanner: { name: 'Trivy', vendor: 'Aqua Security', version: 'v0.50.1' },
  capabilities: [
    { type: 'vulnerability', consumes_mime_types: [OCI_MANIFEST, DOCKER_MANIFEST], produces_mime_types: [VULN_REPORT_MIME_1_1] },
    { type: 'sbom', consumes_mime_types: [OCI_MANIFEST, DOCKER_MANIFEST], produces_mime_types: [SBOM_REPORT_MIME] },
  ],
};

describe('parseRefreshAfter', () => {
  it('takes 1..127 and falls back to 5 otherwise, as Harbor’s int8 parse does', () => {
    assert.equal(parseRefreshAfter('1'), 1);
    assert.equal(parseRefreshAfter('30'), 30);
    assert.equal(parseRefreshAfter('127'), 127);
    assert.equal(parseRefreshAfter(['7', '9']), 7);
    for (const v of [undefined, '', '128', '300', '0', '-3', '2.5', 'soon', '1e2']) assert.equal(parseRefreshAfter(v), 5, String(v));
  });
});

describe('preferredWaitSeconds', () => {
  it('reads RFC 7240’s wait preference among others; 0 without one', () => {
    assert.equal(preferredWaitSeconds('wait=10'), 10);
    assert.equal(preferredWaitSeconds('respond-async, Wait = "7"'), 7);
    assert.equal(preferredWaitSeconds(['handling=lenient', 'wait=3;x=y, wait=9']), 3);
    for (const v of [undefined, '', 'wait', 'wait=', 'wait=-1', 'wait=2.5', 'wait="4', 'waiting=5', 'respond-async']) assert.equal(preferredWaitSeconds(v), 0, String(v));
  });
  it('takes linear time on a long hostile header', () => {
    const t0 = performance.now();
    preferredWaitSeconds(' '.repeat(200_000) + 'x');
    preferredWaitSeconds('wait=1' + ' '.repeat(200_000) + 'x');
    preferredWaitSeconds('wait="' + '1'.repeat(200_000));
    assert.ok(performance.now() - t0 < 2000);
  });
});

describe('validateMetadata', () => {
  it('accepts Trivy’s metadata', () => assert.equal(validateMetadata(trivy), null));
  it('wants a name, vendor and version', () => {
    for (const scanner of [{ name: '', vendor: 'v', version: '1' }, { name: 'n', vendor: '', version: '1' }, { name: 'n', vendor: 'v', version: '' }]) {
      assert.equal(validateMetadata({ ...trivy, scanner }), 'invalid scanner in metadata');
    }
  });
  it('wants a capability', () => assert.equal(validateMetadata({ ...trivy, capabilities: [] }), 'invalid capabilities in metadata'));
  it('wants every capability to consume the Docker v2 manifest', () => {
    const md = { ...trivy, capabilities: [trivy.capabilities[0]!, { ...trivy.capabilities[1]!, consumes_mime_types: [OCI_MANIFEST] }] };
    assert.equal(validateMetadata(md), 'missing application/vnd.docker.distribution.manifest.v2+json in consumes_mime_types');
  });
  it('wants every capability to produce a report type Harbor knows', () => {
    const md = { ...trivy, capabilities: [{ consumes_mime_types: [DOCKER_MANIFEST], produces_mime_types: ['application/vnd.scanner.adapter.vuln.report.raw'] }] };
    assert.equal(
      validateMetadata(md),
      'missing application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0 or application/vnd.security.vulnerability.report; version=1.1 in produces_mime_types',
    );
    assert.equal(validateMetadata({ ...md, capabilities: [{ consumes_mime_types: [DOCKER_MANIFEST], produces_mime_types: [VULN_REPORT_MIME_HARBOR] }] }), null);
  });
});

describe('capabilitiesOf', () => {
  it('derives the flags from the capability types; no type means vulnerability', () => {
    assert.deepEqual(capabilitiesOf(trivy), { support_vulnerability: true, support_sbom: true });
    assert.deepEqual(capabilitiesOf({ ...trivy, capabilities: [{ consumes_mime_types: [DOCKER_MANIFEST], produces_mime_types: [VULN_REPORT_MIME_HARBOR] }] }), { support_vulnerability: true, support_sbom: false });
    assert.deepEqual(capabilitiesOf({ ...trivy, capabilities: [trivy.capabilities[1]!] }), { support_vulnerability: false, support_sbom: true });
  });
});

describe('parseMetadata', () => {
  it('reads missing fields as empty, like Harbor’s JSON decoding', () => {
    assert.deepEqual(parseMetadata({}), { scanner: { name: '', vendor: '', version: '' }, capabilities: [] });
    assert.deepEqual(parseMetadata({ scanner: { name: 'x' }, capabilities: [{}], properties: { a: 'b', n: 1 } }), {
      scanner: { name: 'x', vendor: '', version: '' },
      capabilities: [{ consumes_mime_types: [], produces_mime_types: [] }],
      properties: { a: 'b' },
    });
  });
  it('refuses wrong JSON types', () => {
    for (const doc of [null, [], 'x', { scanner: 'x' }, { scanner: { name: 1 } }, { capabilities: {} }, { capabilities: [{ consumes_mime_types: 'x' }] }, { capabilities: [{ type: 'secrets' }] }, { properties: [] }]) {
      assert.equal(parseMetadata(doc), null, JSON.stringify(doc));
    }
  });
});

describe('adapterAuthHeaders', () => {
  const ep = { url: 'http://a', skipCertVerify: false };
  it('sends each auth mode’s header', () => {
    assert.deepEqual(adapterAuthHeaders({ ...ep, auth: '', accessCredential: 'ignored' }), {});
    assert.deepEqual(adapterAuthHeaders({ ...ep, auth: 'Basic', accessCredential: 'user:p@ss' }), { authorization: 'Basic dXNlcjpwQHNz' });
    assert.deepEqual(adapterAuthHeaders({ ...ep, auth: 'Bearer', accessCredential: 'tok' }), { authorization: 'Bearer tok' });
    assert.deepEqual(adapterAuthHeaders({ ...ep, auth: 'APIKey', accessCredential: 'k3y' }), { 'x-scanneradapter-api-key': 'k3y' });
  });
  it('refuses a missing or unsendable credential without showing it', () => {
    assert.throws(() => adapterAuthHeaders({ ...ep, auth: 'Bearer', accessCredential: '' }), (e: unknown) => e instanceof AdapterError && e.kind === 'protocol' && e.message === "the registration's auth is Bearer but it has no access credential");
    assert.throws(() => adapterAuthHeaders({ ...ep, auth: 'APIKey', accessCredential: 'sec\r\nret' }), (e: unknown) => e instanceof AdapterError && !e.message.includes('sec'));
  });
});

describe('protocol helpers', () => {
  it('maxSeverity takes Harbor’s order and None for no items', () => {
    assert.equal(maxSeverity([]), 'None');
    assert.equal(maxSeverity([{ severity: 'Low' }, { severity: 'Critical' }, { severity: 'High' }]), 'Critical');
    assert.equal(maxSeverity([{ severity: 'Unknown' }]), 'Unknown');
    assert.equal(maxSeverity([{ severity: 'Unknown' }, { severity: 'Negligible' }]), 'Negligible');
  });
  it('sameMediaType ignores case of the type and spaces around parameters', () => {
    assert.ok(sameMediaType('application/vnd.security.vulnerability.report;version=1.1', VULN_REPORT_MIME_1_1));
    assert.ok(sameMediaType('Application/Vnd.OCI.Image.Manifest.v1+json', OCI_MANIFEST));
    assert.ok(!sameMediaType('application/vnd.security.vulnerability.report; version=1.0', VULN_REPORT_MIME_1_1));
  });
});
