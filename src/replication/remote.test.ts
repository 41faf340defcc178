/** Unit tests of the remote client's pure parts: URL normalization, challenges, CA checks. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkCaCertificate, isAdapterType, normalizeEndpointUrl, parseChallenge } from './remote.ts';
import { isDomainError } from '../domain/index.ts';

function badRequest(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => isDomainError(e, 'BAD_REQUEST') && e.message === message);
}

describe('normalizeEndpointUrl', () => {
  it('keeps scheme, host, port and path, without trailing slashes', () => {
    assert.equal(normalizeEndpointUrl(' https://Reg.Example.com:5000/ '), 'https://reg.example.com:5000');
    assert.equal(normalizeEndpointUrl('http://127.0.0.1:5000//'), 'http://127.0.0.1:5000');
    assert.equal(normalizeEndpointUrl('https://art.example.com/artifactory/api/docker/x/'), 'https://art.example.com/artifactory/api/docker/x');
  });
  it('refuses other schemes, credentials, queries and garbage', () => {
    badRequest(() => normalizeEndpointUrl('ftp://x'), 'invalid url "ftp://x": an http or https URL is expected');
    badRequest(() => normalizeEndpointUrl('reg.example.com'), 'invalid url "reg.example.com": an http or https URL is expected');
    badRequest(() => normalizeEndpointUrl('https://u:secret@x'), 'invalid url: credentials go in the credential fields, not in the URL');
    badRequest(() => normalizeEndpointUrl('https://x/?a=1'), 'invalid url "https://x/?a=1": no query or fragment is allowed');
  });
});

describe('parseChallenge', () => {
  it('reads a Bearer challenge with quoted parameters', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"'), {
      scheme: 'bearer',
      params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' },
    });
  });
  it('reads Basic, unquoted values and escapes', () => {
    assert.deepEqual(parseChallenge('Basic realm="a \\"b\\" c"'), { scheme: 'basic', params: { realm: 'a "b" c' } });
    assert.deepEqual(parseChallenge('bearer realm=https://x/t, service=x'), { scheme: 'bearer', params: { realm: 'https://x/t', service: 'x' } });
  });
  it('stops at a second challenge and answers undefined for none', () => {
    assert.deepEqual(parseChallenge('Basic realm="r", Bearer realm="t"'), { scheme: 'basic', params: { realm: 'r' } });
    assert.equal(parseChallenge(undefined), undefined);
    assert.equal(parseChallenge('   '), undefined);
  });
  it('is linear on a long hostile header', () => {
    const h = 'Bearer ' + 'a="\\'.repeat(200_000);
    const t = Date.now();
    parseChallenge(h);
    assert.ok(Date.now() - t < 1000);
  });
});

describe('checkCaCertificate and adapter types', () => {
  it('refuses text without a certificate and a broken block', () => {
    badRequest(() => checkCaCertificate('hello'), 'invalid ca_certificate: no PEM certificate found');
    badRequest(() => checkCaCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'), 'invalid ca_certificate: a PEM block is not a valid X.509 certificate');
  });
  it('knows harbor and docker-registry only', () => {
    assert.equal(isAdapterType('harbor'), true);
    assert.equal(isAdapterType('docker-registry'), true);
    assert.equal(isAdapterType('docker-hub'), false);
  });
});
