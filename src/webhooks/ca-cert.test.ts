/** A target's own CA (`ca_cert`): what is accepted, the messages for what is not, and reading it back from `options`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { isDomainError } from '../domain/index.ts';
import { generateCa } from '../platform/index.ts';
import { caCertOf, caKey, maxCaCertBytes, parseCaCert } from './ca-cert.ts';

/** `fn` throws BAD_REQUEST with a message matching `re`. */
const refuses = (fn: () => unknown, re: RegExp) => assert.throws(fn, (err: unknown) => isDomainError(err, 'BAD_REQUEST') && re.test(err.message));

test('parseCaCert accepts one or more PEM certificates and normalises them', async () => {
  const a = await generateCa('a', new Date(), 1);
  const b = await generateCa('b', new Date(), 1);
  const one = parseCaCert(a.cert, 'ca_cert');
  assert.ok(one !== null);
  assert.equal(new X509Certificate(one).subject, new X509Certificate(a.cert).subject);
  // CRLF line ends, indentation and text-free blank lines between blocks are fine.
  const both = parseCaCert(`\r\n${a.cert.replace(/\n/g, '\r\n')}\n\n${b.cert}  `, 'ca_cert');
  assert.ok(both !== null);
  assert.equal(both.match(/BEGIN CERTIFICATE/g)?.length, 2);
  assert.equal(both, `${one}${parseCaCert(b.cert, 'ca_cert') ?? ''}`);
  assert.equal(parseCaCert(null, 'ca_cert'), null);
  assert.equal(parseCaCert(undefined, 'ca_cert'), null);
  assert.equal(parseCaCert('  \n', 'ca_cert'), null);
});

test('parseCaCert refuses keys, other PEM blocks, garbage and oversize text with clear messages', async () => {
  const a = await generateCa('a', new Date(), 1);
  refuses(() => parseCaCert(a.key, 'targets[0].ca_cert'), /^targets\[0\]\.ca_cert holds a private key/);
  refuses(() => parseCaCert(`${a.cert}${a.key}`, 'tlsCert'), /^tlsCert holds a private key/);
  refuses(() => parseCaCert('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', 'ca_cert'), /PEM "CERTIFICATE REQUEST" block/);
  refuses(() => parseCaCert('hello', 'ca_cert'), /^ca_cert is not a PEM certificate/);
  refuses(() => parseCaCert(42, 'ca_cert'), /^ca_cert must be a string/);
  refuses(() => parseCaCert('-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n', 'ca_cert'), /^ca_cert: certificate 1 is not a valid X\.509 certificate/);
  refuses(() => parseCaCert(`${a.cert}and some words`, 'ca_cert'), /text outside its PEM certificates/);
  refuses(() => parseCaCert(a.cert.replace('-----END CERTIFICATE-----', ''), 'ca_cert'), /not a PEM certificate/);
  refuses(() => parseCaCert(a.cert + ' '.repeat(maxCaCertBytes), 'ca_cert'), /larger than 64 KiB/);
});

test('caCertOf reads the CA from a target\'s options JSON; caKey is a stable sha256', () => {
  assert.equal(caCertOf(JSON.stringify({ signature_style: 'standard', ca_cert: 'PEM' })), 'PEM');
  assert.equal(caCertOf('{}'), null);
  assert.equal(caCertOf(''), null);
  assert.equal(caCertOf('not json'), null);
  assert.equal(caCertOf(JSON.stringify({ ca_cert: 7 })), null);
  assert.equal(caKey('x'), caKey('x'));
  assert.notEqual(caKey('x'), caKey('y'));
  assert.match(caKey('x'), /^[0-9a-f]{64}$/);
});
