/**
 * Talking to a remote registry endpoint: one undici Agent per endpoint (its TLS settings: the
 * system roots plus the endpoint's CA certificate, or no verification when `insecure`), bounded
 * requests (a timeout on headers and body, a cap on how much of a body is read), the `/v2/`
 * authentication flow (Basic, or the Bearer token named in the `WWW-Authenticate` challenge), and
 * the health check of each adapter type. Secrets go into Authorization headers only: never into a
 * URL, a log line or an error message.
 */
import { X509Certificate } from 'node:crypto';
import { Agent, request } from 'undici';
import { fail } from '../domain/index.ts';
import { trustedCa } from '../platform/index.ts';

/** The adapter types Wharf serves. */
export const adapterTypes = ['docker-registry', 'harbor'] as const;
/** One adapter type. */
export type AdapterType = (typeof adapterTypes)[number];

/** True when `t` names an adapter Wharf serves. */
export function isAdapterType(t: string): t is AdapterType {
  return (adapterTypes as readonly string[]).includes(t);
}

/** Where an endpoint is and how to reach it. */
export interface EndpointAccess {
  type: AdapterType;
  url: string;
  accessKey: string;
  accessSecret: string;
  insecure: boolean;
  caCertificate: string | null;
}

/** Bounds on remote calls. */
export interface RemoteLimits {
  /** Per request: until the headers, and between body chunks. */
  timeoutMs: number;
  /** The most bytes of a body read (token answers, API reads). */
  maxBodyBytes: number;
}

/** The defaults: 15 s, 1 MiB. */
export const defaultRemoteLimits: RemoteLimits = { timeoutMs: 15_000, maxBodyBytes: 1 << 20 };

/**
 * An endpoint URL as stored: http or https, no credentials, query or fragment, no trailing
 * slash. BAD_REQUEST otherwise (the message quotes the URL only when it carries no credentials).
 */
export function normalizeEndpointUrl(raw: string): string {
  const trimmed = raw.trim();
  let u: URL;
  try {
    u = new URL(trimmed);
  } catch {
    throw fail('BAD_REQUEST', `invalid url "${trimmed}": an http or https URL is expected`);
  }
  if (u.username !== '' || u.password !== '') throw fail('BAD_REQUEST', 'invalid url: credentials go in the credential fields, not in the URL');
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw fail('BAD_REQUEST', `invalid url "${trimmed}": an http or https URL is expected`);
  if (u.search !== '' || u.hash !== '') throw fail('BAD_REQUEST', `invalid url "${trimmed}": no query or fragment is allowed`);
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.protocol}//${u.host}${path}`;
}

/** BAD_REQUEST unless `pem` holds at least one X.509 certificate in PEM form. */
export function checkCaCertificate(pem: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw fail('BAD_REQUEST', 'invalid ca_certificate: no PEM certificate found');
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch {
      throw fail('BAD_REQUEST', 'invalid ca_certificate: a PEM block is not a valid X.509 certificate');
    }
  }
}

/** A parsed `WWW-Authenticate` challenge: its scheme (lower case) and parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses the first challenge of a `WWW-Authenticate` header (`Bearer realm="…",service="…"`):
 * one left-to-right pass, quoted strings with backslash escapes. Undefined when there is none.
 */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*([A-Za-z][A-Za-z0-9._~+/-]*)/.exec(header);
  if (!m || m[1] === undefined) return undefined;
  const params: Record<string, string> = {};
  let i = m[0].length;
  const n = header.length;
  while (i < n) {
    while (i < n && (header[i] === ' ' || header[i] === ',' || header[i] === '\t')) i++;
    const keyStart = i;
    while (i < n && header[i] !== '=' && header[i] !== ',' && header[i] !== ' ') i++;
    const key = header.slice(keyStart, i).toLowerCase();
    if (header[i] !== '=') {
      if (key !== '') break; // the next scheme of a list of challenges: only the first is read
      continue;
    }
    i++;
    let value = '';
    if (header[i] === '"') {
      i++;
      while (i < n && header[i] !== '"') {
        if (header[i] === '\\' && i + 1 < n) i++;
        value += header[i];
        i++;
      }
      i++;
    } else {
      const start = i;
      while (i < n && header[i] !== ',' && header[i] !== ' ') i++;
      value = header.slice(start, i);
    }
    if (key !== '') params[key] = value;
  }
  return { scheme: m[1].toLowerCase(), params };
}

/**
 * The undici Agent of one endpoint: keep-alive connections verified against the system roots plus
 * `tls.trusted_ca_files` and the endpoint's CA certificate, or not verified at all when `insecure`; `timeoutMs` bounds the
 * connect, the wait for headers, and each wait between body chunks.
 */
export function endpointAgent(access: Pick<EndpointAccess, 'insecure' | 'caCertificate'>, timeoutMs: number): Agent {
  const connect = access.insecure ? { rejectUnauthorized: false } : { ca: trustedCa(access.caCertificate), rejectUnauthorized: true };
  return new Agent({ connect: { ...connect, timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
}

/** A body read whole, refused past `maxBytes` (`what` names the request in the error). */
export async function readBounded(body: AsyncIterable<unknown> & { destroy(): unknown }, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > maxBytes) {
      body.destroy();
      throw new Error(`${what} answered more than ${maxBytes} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** A token of a Bearer realm and how long it lives (`expires_in`, 60 s when the answer names none). */
export interface BearerToken {
  token: string;
  expiresInMs: number;
}

/** The token service's refusal or unusable answer; `status` is its HTTP status (undefined for a bad 200). */
export class TokenServiceError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'TokenServiceError';
  }
}

/**
 * Fetches a token from the realm of a Bearer challenge: its `service`, one `scope` parameter per
 * scope (a scope holding several space-separated scopes is split), and `authorization` (Basic
 * credentials; none asks for an anonymous token). Network errors are thrown as undici throws them.
 */
export async function fetchBearerToken(o: { agent: Agent; challenge: Challenge; scopes: string[]; authorization?: string; maxBodyBytes: number; signal?: AbortSignal }): Promise<BearerToken> {
  const realm = o.challenge.params.realm;
  if (realm === undefined) throw new TokenServiceError('the Bearer challenge names no realm', undefined);
  let u: URL;
  try {
    u = new URL(realm);
  } catch {
    throw new TokenServiceError('the Bearer challenge names an invalid realm', undefined);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TokenServiceError('the Bearer challenge names a realm that is not http or https', undefined);
  if (o.challenge.params.service !== undefined) u.searchParams.set('service', o.challenge.params.service);
  for (const s of new Set(o.scopes.flatMap((x) => x.split(' ')).filter((x) => x !== ''))) u.searchParams.append('scope', s);
  const headers: Record<string, string> = { 'user-agent': 'wharf-replication', accept: 'application/json' };
  if (o.authorization !== undefined) headers.authorization = o.authorization;
  const res = await request(u.toString(), { method: 'GET', headers, dispatcher: o.agent, ...(o.signal ? { signal: o.signal } : {}) });
  const where = `${u.origin}${u.pathname}`;
  const body = await readBounded(res.body, o.maxBodyBytes, `the token service ${where}`);
  if (res.statusCode !== 200) throw new TokenServiceError(`the token service ${where} answered ${res.statusCode}`, res.statusCode);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new TokenServiceError('the token service answered no JSON', undefined);
  }
  const obj = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {}; // checked: an object or nothing
  const token = typeof obj.token === 'string' ? obj.token : typeof obj.access_token === 'string' ? obj.access_token : undefined;
  if (token === undefined || token === '') throw new TokenServiceError('the token service answered no token', undefined);
  const expires = typeof obj.expires_in === 'number' && Number.isFinite(obj.expires_in) && obj.expires_in > 0 ? obj.expires_in : 60;
  return { token, expiresInMs: expires * 1000 };
}

/** A remote answer: status, headers and (bounded) body. */
export interface RemoteAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function header(a: RemoteAnswer, name: string): string | undefined {
  const v = a.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The outcome of a health check; `reason` says why it failed, without secrets. */
export type PingResult = { healthy: true } | { healthy: false; reason: string };

/** A client for one endpoint. Close it when done (it owns its connection pool). */
export class RemoteEndpoint {
  private readonly agent: Agent;

  constructor(
    private readonly access: EndpointAccess,
    private readonly limits: RemoteLimits = defaultRemoteLimits,
  ) {
    this.agent = endpointAgent(access, limits.timeoutMs);
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  private hasCredentials(): boolean {
    return this.access.accessKey !== '' || this.access.accessSecret !== '';
  }

  private basic(): string {
    return 'Basic ' + Buffer.from(`${this.access.accessKey}:${this.access.accessSecret}`).toString('base64');
  }

  /** One GET of an absolute URL, its body read up to the limit (BAD_REQUEST-free: network errors throw). */
  private async getUrl(url: string, authorization?: string, accept?: string): Promise<RemoteAnswer> {
    const headers: Record<string, string> = { 'user-agent': 'wharf-replication' };
    if (authorization !== undefined) headers.authorization = authorization;
    if (accept !== undefined) headers.accept = accept;
    const res = await request(url, { method: 'GET', headers, dispatcher: this.agent });
    const body = await readBounded(res.body, this.limits.maxBodyBytes, `GET ${new URL(url).pathname}`);
    return { status: res.statusCode, headers: res.headers, body };
  }

  /** A GET of `path` under the endpoint, with Basic credentials (Harbor's API). */
  async apiGet(path: string): Promise<RemoteAnswer> {
    return this.getUrl(this.access.url + path, this.hasCredentials() ? this.basic() : undefined, 'application/json');
  }

  /**
   * A GET of a `/v2/` path: first without credentials, then, on a 401 and when credentials are
   * set, with Basic or with the token of the challenge's Bearer realm.
   */
  async registryGet(path: string, accept?: string): Promise<RemoteAnswer> {
    const url = this.access.url + path;
    const first = await this.getUrl(url, undefined, accept);
    if (first.status !== 401 || !this.hasCredentials()) return first;
    const challenge = parseChallenge(header(first, 'www-authenticate'));
    if (challenge?.scheme === 'bearer') {
      const token = await this.bearerToken(challenge);
      return this.getUrl(url, `Bearer ${token}`, accept);
    }
    return this.getUrl(url, this.basic(), accept);
  }

  /** The token of a Bearer challenge, fetched with Basic credentials from its realm (the challenge's own scope). */
  private async bearerToken(c: Challenge): Promise<string> {
    const scopes = c.params.scope !== undefined ? [c.params.scope] : [];
    const t = await fetchBearerToken({ agent: this.agent, challenge: c, scopes, authorization: this.basic(), maxBodyBytes: this.limits.maxBodyBytes });
    return t.token;
  }

  /**
   * The health check. `docker-registry`: `GET /v2/` answers 200 (401 or 403 count as healthy when
   * no credentials are set: the registry is up). `harbor`: `GET /api/v2.0/ping` answers 200 too.
   */
  async ping(): Promise<PingResult> {
    try {
      if (this.access.type === 'harbor') {
        const p = await this.getUrl(this.access.url + '/api/v2.0/ping');
        if (p.status !== 200) return { healthy: false, reason: `GET /api/v2.0/ping answered ${p.status}` };
      }
      const v2 = await this.registryGet('/v2/');
      if (v2.status === 200) return { healthy: true };
      if ((v2.status === 401 || v2.status === 403) && !this.hasCredentials()) return { healthy: true };
      return { healthy: false, reason: `GET /v2/ answered ${v2.status}` };
    } catch (err) {
      return { healthy: false, reason: describe(err) };
    }
  }
}

/** A network error's message, with its cause (undici wraps TLS and socket errors). */
export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}
