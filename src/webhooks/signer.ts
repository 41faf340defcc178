/**
 * Request headers of a webhook delivery: Wharf's own headers, the target's authentication and
 * custom headers, and signatures. Pure apart from the clock passed in.
 *
 * Every delivery carries:
 *   X-Wharf-Event-Id     the event id (stable across retries and redeliveries)
 *   X-Wharf-Event-Type   the event type (PUSH_ARTIFACT, ...)
 *   X-Wharf-Delivery     the execution id (a redelivery is a new execution)
 *   User-Agent           Wharf-Webhook/<version>
 *   Authorization        the target's `auth_header`, verbatim (http targets, when set)
 *   <custom>             the target's `headers`
 *
 * With a target `secret`, Standard Webhooks signing (https://www.standardwebhooks.com):
 *   webhook-id           the event id
 *   webhook-timestamp    Unix seconds of this attempt
 *   webhook-signature    `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`
 * The key: a secret written `whsec_<base64>` is base64-decoded after the prefix (as every Standard
 * Webhooks library does); any other secret is used as its UTF-8 bytes. A receiver verifies a raw
 * secret `s` with `new Webhook(new TextEncoder().encode(s), { format: 'raw' })`, or equivalently
 * with `new Webhook('whsec_' + base64(utf8(s)))`.
 *
 * With `options.signature_style` containing `github` or `hmac-sha256`, also
 *   X-Hub-Signature-256  `sha256=<hex HMAC-SHA256(utf8(secret), body)>` (GitHub's form)
 *   X-Signature          the same value (what Flux's `generic-hmac` receiver reads)
 * keyed by the secret string exactly as stored (a `whsec_` secret is not decoded here), so a
 * Flux Receiver's `token` is the same string.
 */
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { fail } from '../domain/index.ts';
import { redactionMarker } from './redaction.ts';

/** Wharf's version in the User-Agent. */
export const wharfVersion = '0.1.0';
/** The User-Agent of every delivery. */
export const userAgent = `Wharf-Webhook/${wharfVersion}`;

/** Headers whose value is always hidden in the stored history. */
export const alwaysSecretHeaders = ['authorization', 'proxy-authorization', 'cookie', 'webhook-signature', 'x-hub-signature-256', 'x-hub-signature', 'x-signature'];

/** The redaction marker written in place of a secret value (the one marker, ./redaction.ts). */
export const redacted = redactionMarker;

/** The parts of a target the headers depend on. */
export interface SigningTarget {
  type: string;
  auth_header: string;
  secret: string;
  /** JSON object: name -> value (see {@link parseCustomHeaders}). */
  headers: string;
  /** JSON object of options; `signature_style` may be a string or an array of strings. */
  options: string;
}

/** One custom header. */
export interface CustomHeader {
  name: string;
  value: string;
  /** Hidden in the delivery history (always, today). */
  secret: boolean;
}

const tokenChar = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Names the worker sets: a custom header may not replace them.
const reserved = new Set([
  'content-type', 'content-length', 'host', 'transfer-encoding', 'connection', 'user-agent',
  'webhook-id', 'webhook-timestamp', 'webhook-signature', 'x-hub-signature-256', 'x-signature',
  'x-wharf-event-id', 'x-wharf-event-type', 'x-wharf-delivery',
]);

/**
 * Reads a target's `headers` JSON: name -> string value (or `{ "value": string }`). Every custom
 * header value counts as secret: the API treats them as write-only, so the delivery history
 * shows only the names. Invalid names, non-string values and reserved names are skipped.
 */
export function parseCustomHeaders(json: string): CustomHeader[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json || '{}');
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return [];
  const out: CustomHeader[] = [];
  for (const [name, raw] of Object.entries(parsed)) {
    if (!tokenChar.test(name) || reserved.has(name.toLowerCase())) continue;
    let value: unknown = raw;
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
      value = (raw as Record<string, unknown>)['value']; // a JSON object
    }
    if (typeof value !== 'string' || /[\r\n\0]/.test(value)) continue;
    out.push({ name, value, secret: true });
  }
  return out;
}

/** The signature styles a target asked for in `options.signature_style` (lower case). */
export function signatureStyles(optionsJson: string): string[] {
  try {
    const o: unknown = JSON.parse(optionsJson || '{}');
    if (typeof o !== 'object' || o === null) return [];
    const s = (o as Record<string, unknown>)['signature_style']; // a JSON object
    const list = Array.isArray(s) ? s : typeof s === 'string' ? s.split(',') : [];
    return list.filter((x): x is string => typeof x === 'string').map((x) => x.trim().toLowerCase()).filter(Boolean);
  } catch {
    return [];
  }
}

/** The Standard Webhooks key bytes of a secret (see the module comment). Throws BAD_REQUEST for a malformed `whsec_` secret. */
export function standardWebhooksKey(secret: string): Uint8Array {
  if (secret.startsWith('whsec_')) {
    const b64 = secret.slice('whsec_'.length);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
      throw fail('BAD_REQUEST', 'a secret starting with whsec_ must continue with base64 (Standard Webhooks format)');
    }
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }
  return new Uint8Array(Buffer.from(secret, 'utf8'));
}

/** Validates a secret before it is stored (for the policy API): throws BAD_REQUEST when unusable. */
export function validateSecret(secret: string): void {
  if (secret === '') return;
  if (standardWebhooksKey(secret).length === 0) throw fail('BAD_REQUEST', 'the signing secret is empty');
}

/** Hex HMAC-SHA256 of `body` keyed by the secret's UTF-8 bytes, `sha256=`-prefixed. */
export function hubSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** What a delivery's headers are built from. */
export interface HeaderInput {
  target: SigningTarget;
  eventId: string;
  eventType: string;
  /** Execution id, or a label for one-off sends (`test`). */
  delivery: string;
  body: string;
  /** Headers the payload format requires (Content-Type, ce-*). */
  formatHeaders: Record<string, string>;
  /** The attempt time. */
  now: Date;
}

/** The headers to send, and the same headers with secrets redacted for the history. */
export interface BuiltHeaders {
  headers: Record<string, string>;
  redacted: Record<string, string>;
}

/** Builds every request header of one attempt (lower-case names). */
export function buildHeaders(input: HeaderInput): BuiltHeaders {
  const { target, body } = input;
  const headers: Record<string, string> = {};
  const secretNames = new Set(alwaysSecretHeaders);
  const custom = parseCustomHeaders(target.headers);
  const formatNames = new Set(Object.keys(input.formatHeaders).map((k) => k.toLowerCase()));
  for (const h of custom) {
    const lower = h.name.toLowerCase();
    if (formatNames.has(lower)) continue; // a custom header never replaces what the format needs
    headers[lower] = h.value;
    if (h.secret) secretNames.add(lower);
  }
  if (target.type === 'http' && target.auth_header !== '') headers['authorization'] = target.auth_header;
  for (const [k, v] of Object.entries(input.formatHeaders)) headers[k.toLowerCase()] = v;
  if (!headers['content-type']) headers['content-type'] = 'application/json';
  headers['user-agent'] = userAgent;
  headers['x-wharf-event-id'] = input.eventId;
  headers['x-wharf-event-type'] = input.eventType;
  headers['x-wharf-delivery'] = input.delivery;
  if (target.secret !== '') {
    const key = standardWebhooksKey(target.secret);
    headers['webhook-id'] = input.eventId;
    headers['webhook-timestamp'] = String(Math.floor(input.now.getTime() / 1000));
    headers['webhook-signature'] = new Webhook(key, { format: 'raw' }).sign(input.eventId, input.now, body);
    const styles = signatureStyles(target.options);
    if (styles.includes('github') || styles.includes('hmac-sha256')) {
      const sig = hubSignature(target.secret, body);
      headers['x-hub-signature-256'] = sig;
      headers['x-signature'] = sig;
    }
  }
  return { headers, redacted: redactHeaders(headers, secretNames) };
}

/** A copy of `headers` with the values of `secretNames` (lower case) replaced by {@link redacted}. */
export function redactHeaders(headers: Record<string, string>, secretNames: ReadonlySet<string> = new Set(alwaysSecretHeaders)): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = secretNames.has(k.toLowerCase()) ? redacted : v;
  return out;
}
