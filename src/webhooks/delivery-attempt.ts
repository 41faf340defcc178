/**
 * One HTTP attempt of a delivery: the request headers built and signed (./signer.ts), sent through
 * the guarded client (./http-client.ts), and the attempt as it is recorded, with secrets redacted
 * and a verdict (./retry.ts). Shared by the delivery worker and one-off test sends.
 */
import type { Config } from '../config/index.ts';
import type { WebhookTargetRow } from '../db/index.ts';
import type { WebhookHttpClient, OutboundResult } from './http-client.ts';
import { classify, type Verdict } from './retry.ts';
import { buildHeaders, redactHeaders } from './signer.ts';
import { redactAddress, redactionMarker } from './redaction.ts';
import { isAdminTrusted } from './target-row.ts';
import { caCertOf } from './ca-cert.ts';

/** One attempt as recorded (and as `sendTest` returns it). */
export interface AttemptRecord {
  url: string;
  startedAt: number;
  durationMs: number;
  /** Request headers as sent, secret values replaced by `<redacted>`. */
  requestHeaders: Record<string, string>;
  requestBody: string;
  responseStatus: number | null;
  responseHeaders: Record<string, string> | null;
  /** The first `response_body_limit` bytes of the response body, as UTF-8 text. */
  responseBody: string | null;
  error: string | null;
  verdict: Verdict;
}

/** The parts of a target an attempt needs (`options` carries the admin-trusted mark and the target's own CA, `ca_cert`). */
export type AttemptTarget = Pick<WebhookTargetRow, 'type' | 'address' | 'payload_format' | 'options' | 'auth_header' | 'skip_cert_verify' | 'secret' | 'headers' | 'timeout_ms'>;

/** Chat targets, whose webhook URL (path or query) is the secret. */
const chatTypes = new Set(['slack', 'discord', 'teams', 'mattermost', 'googlechat']);

/** The address with credentials and sensitive query values hidden; chat webhook URLs (secret paths) keep only their origin. */
export function redactUrl(address: string, type: string): string {
  if (!chatTypes.has(type)) return redactAddress(address);
  try {
    const u = new URL(address);
    return `${u.protocol}//${u.host}/${redactionMarker}`;
  } catch {
    return redactAddress(address);
  }
}

/** Redacted URLs by type and address (redactUrl is pure; parsing a URL per attempt is not free). */
const redactedUrls = new Map<string, string>();

function redactUrlCached(address: string, type: string): string {
  const key = `${type} ${address}`;
  let url = redactedUrls.get(key);
  if (url === undefined) {
    url = redactUrl(address, type);
    if (redactedUrls.size >= 1000) redactedUrls.clear();
    redactedUrls.set(key, url);
  }
  return url;
}

/** Runs one HTTP attempt of `body` to `target` (shared by the worker and one-off test sends). */
export async function attemptOnce(
  client: WebhookHttpClient,
  config: Config,
  input: { target: AttemptTarget; eventId: string; eventType: string; delivery: string; body: string; formatHeaders: Record<string, string>; signal?: AbortSignal },
): Promise<{ record: AttemptRecord; result: OutboundResult | null; refused: boolean }> {
  const startedAt = Date.now();
  const url = redactUrlCached(input.target.address, input.target.type);
  let built;
  try {
    built = buildHeaders({ target: input.target, eventId: input.eventId, eventType: input.eventType, delivery: input.delivery, body: input.body, formatHeaders: input.formatHeaders, now: new Date(startedAt) });
  } catch (err) {
    const error = `could not build the request: ${err instanceof Error ? err.message : String(err)}`;
    const record: AttemptRecord = { url, startedAt, durationMs: 0, requestHeaders: redactHeaders(input.formatHeaders), requestBody: input.body, responseStatus: null, responseHeaders: null, responseBody: null, error, verdict: 'fail' };
    return { record, result: null, refused: true };
  }
  const result = await client.send({
    url: input.target.address,
    headers: built.headers,
    redactedHeaders: built.redacted,
    trusted: isAdminTrusted(input.target.options),
    body: input.body,
    timeoutMs: input.target.timeout_ms ?? config.webhooks.timeout_ms,
    skipCertVerify: input.target.skip_cert_verify === 1,
    caCert: caCertOf(input.target.options),
    signal: input.signal,
  });
  const refused = result.errorKind === 'blocked' || result.errorKind === 'invalid_url';
  const verdict = classify({ status: result.status, refused });
  const record: AttemptRecord = {
    url,
    startedAt,
    durationMs: result.durationMs,
    requestHeaders: built.redacted,
    requestBody: input.body,
    responseStatus: result.status,
    responseHeaders: result.headers,
    responseBody: result.body ? result.body.toString('utf8') : null,
    error: result.error,
    verdict,
  };
  return { record, result, refused };
}
