/**
 * A webhook target's own CA (`ca_cert`, Wharf's extension; MSR's `tlsCert`): one or more PEM
 * certificates that deliveries to that target trust besides the system roots and
 * `tls.trusted_ca_files`. Stored in the target's `options` JSON under `ca_cert` (a CA is not a
 * secret: views show it). Ignored while `skip_cert_verify` is on. Pure functions, no I/O.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { fail } from '../domain/index.ts';

/** The `options` key of a target's CA certificates (PEM). */
export const caCertOption = 'ca_cert';
/** Largest `ca_cert` accepted, bytes (UTF-8). */
export const maxCaCertBytes = 64 * 1024;

const certBlock = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;
const anyBlock = /-----BEGIN ([A-Z0-9 ]+)-----/g;

/**
 * Validates a `ca_cert` value: null, undefined or blank mean none (null returned); otherwise a
 * string of at most 64 KiB holding only PEM `CERTIFICATE` blocks, each of which must parse as an
 * X.509 certificate. Returns the certificates as normalised PEM (one block after another, `\n`
 * line ends). Throws BAD_REQUEST naming `field` (e.g. `targets[0].ca_cert`, or MSR's `tlsCert`).
 */
export function parseCaCert(pem: unknown, field: string): string | null {
  if (pem === undefined || pem === null) return null;
  if (typeof pem !== 'string') throw fail('BAD_REQUEST', `${field} must be a string of PEM certificates`);
  if (pem.trim() === '') return null;
  if (Buffer.byteLength(pem, 'utf8') > maxCaCertBytes) throw fail('BAD_REQUEST', `${field} is larger than ${maxCaCertBytes / 1024} KiB`);
  for (const m of pem.matchAll(anyBlock)) {
    const kind = m[1] ?? '';
    if (kind.includes('PRIVATE KEY')) throw fail('BAD_REQUEST', `${field} holds a private key: send only the CA's certificate (PEM "BEGIN CERTIFICATE"), never a key`);
    if (kind !== 'CERTIFICATE') throw fail('BAD_REQUEST', `${field} holds a PEM "${kind}" block: only CA certificates (PEM "BEGIN CERTIFICATE") are accepted`);
  }
  const blocks: string[] = [];
  let rest = pem;
  for (const m of pem.matchAll(certBlock)) {
    const n = blocks.length + 1;
    const body = (m[1] ?? '').replace(/\s+/g, '');
    const text = `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
    try {
      new X509Certificate(text);
    } catch (err) {
      throw fail('BAD_REQUEST', `${field}: certificate ${n} is not a valid X.509 certificate (${err instanceof Error ? err.message : String(err)})`);
    }
    blocks.push(text);
    rest = rest.replace(m[0], '');
  }
  if (blocks.length === 0) throw fail('BAD_REQUEST', `${field} is not a PEM certificate (expected "-----BEGIN CERTIFICATE-----" blocks)`);
  if (rest.trim() !== '') throw fail('BAD_REQUEST', `${field} holds text outside its PEM certificates (or a certificate block that is not complete)`);
  return blocks.join('');
}

/** The CA certificates stored in a target's `options` JSON, or null. */
export function caCertOf(optionsJson: string): string | null {
  try {
    const o: unknown = JSON.parse(optionsJson || '{}');
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
    const v = (o as Record<string, unknown>)[caCertOption]; // a JSON object (checked above)
    return typeof v === 'string' && v !== '' ? v : null;
  } catch {
    return null;
  }
}

/** A short stable key of a CA's PEM (sha256, hex): connection pools are keyed by it. */
export function caKey(pem: string): string {
  return createHash('sha256').update(pem).digest('hex');
}
