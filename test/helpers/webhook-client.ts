/**
 * Client side of the webhook e2e tests and the webhook benchmark: calls to the documented Harbor
 * webhook API (`/api/v2.0`) and direct HTTP pushes of small images over /v2 (the OCI flow a client
 * runs: POST upload, PUT with digest, PUT manifest), for bursts where skopeo would be too slow.
 */
import { request, type Dispatcher } from 'undici';
import { sha256 } from './oci-layout.ts';

/** A JSON-ish HTTP answer. */
export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed body; undefined when empty or not JSON. */
  json: unknown;
}

/** Calls `method path` on `base` with admin (or `auth`) credentials and an optional JSON body. */
export async function api(
  base: string,
  method: Dispatcher.HttpMethod,
  path: string,
  opts: { body?: unknown; auth?: string; headers?: Record<string, string>; dispatcher?: Dispatcher } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth) headers.authorization = opts.auth;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await request(base + path, { method, headers, body, dispatcher: opts.dispatcher });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Describes an answer for assertion messages: `POST /path -> 400 {...}`. */
export function explain(method: string, path: string, a: ApiAnswer): string {
  return `${method} ${path} -> ${a.status} ${a.text.slice(0, 600)}`;
}

/** Options of a call made by {@link apiCaller}: a JSON body or raw bytes, and whose credentials. */
export interface CallOptions {
  body?: unknown;
  /** An Authorization value; null: anonymous; absent: the caller's default. */
  auth?: string | null;
  /** Raw bytes or text sent as they are (a blob, a manifest), with `type` as Content-Type. */
  raw?: Uint8Array | string;
  type?: string;
}

/**
 * A `call(method, path, opts)` on the Wharf at `base()` (read at each call: tests start it in a
 * hook) with `defaultAuth` unless `opts.auth` says otherwise.
 */
export function apiCaller(base: () => string, defaultAuth: string) {
  return async (method: Dispatcher.HttpMethod, path: string, opts: CallOptions = {}): Promise<ApiAnswer> => {
    const auth = opts.auth === undefined ? defaultAuth : opts.auth;
    if (opts.raw === undefined) return api(base(), method, path, { ...(opts.body === undefined ? {} : { body: opts.body }), ...(auth === null ? {} : { auth }) });
    const headers: Record<string, string> = { ...(auth === null ? {} : { authorization: auth }), ...(opts.type ? { 'content-type': opts.type } : {}) };
    const r = await fetch(base() + path, { method, headers, body: typeof opts.raw === 'string' ? opts.raw : new Uint8Array(opts.raw) });
    const text = await r.text();
    return { status: r.status, headers: {}, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
  };
}

/** An answer for assertion messages: the status and the start of the body. */
export function show(a: ApiAnswer): string {
  return `${a.status} ${a.text.slice(0, 600)}`;
}

/** A webhook target as the API takes it (Harbor fields plus Wharf's extensions). */
export interface TargetInput {
  type: 'http' | 'slack' | 'discord' | 'teams' | 'mattermost' | 'googlechat';
  address: string;
  auth_header?: string;
  skip_cert_verify?: boolean;
  payload_format?: 'AdaptiveCard' | 'MessageCard' | 'Default' | 'CloudEvents' | 'Distribution' | 'MSR';
  secret?: string;
  signature_style?: string;
  headers?: Record<string, string>;
  timeout_ms?: number;
  cloudevents_mode?: 'structured' | 'binary';
}

/** A policy as the API takes it. */
export interface PolicyInput {
  name: string;
  description?: string;
  enabled?: boolean;
  event_types: string[];
  targets: TargetInput[];
  repo_filters?: string[];
  tag_filters?: string[];
}

/**
 * Creates a policy with `POST <scope>/webhook/policies` (scope `/api/v2.0/projects/library` or
 * `/api/v2.0/system`) and returns its id from the Location header; throws with the answer otherwise.
 */
export async function createPolicy(base: string, auth: string, scope: string, policy: PolicyInput): Promise<number> {
  const path = `${scope}/webhook/policies`;
  const a = await api(base, 'POST', path, { auth, body: { enabled: true, ...policy } });
  if (a.status !== 201) throw new Error(`create policy failed: ${explain('POST', path, a)}`);
  const loc = a.headers.location;
  const id = Number(String(Array.isArray(loc) ? loc[0] : loc).split('/').pop());
  if (!Number.isInteger(id)) throw new Error(`create policy: no id in Location ${String(loc)}`);
  return id;
}

/** Pushes one blob with POST + PUT ?digest= (works on Wharf and on the CNCF registry). */
export async function pushBlob(base: string, repo: string, data: Buffer, auth?: string, dispatcher?: Dispatcher): Promise<string> {
  const digest = sha256(data);
  const h: Record<string, string> = auth ? { authorization: auth } : {};
  const start = await request(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: h, dispatcher });
  await start.body.text();
  if (start.statusCode !== 202) throw new Error(`blob upload start ${repo}: ${start.statusCode}`);
  const locHeader = start.headers.location;
  const loc = String(Array.isArray(locHeader) ? locHeader[0] : locHeader);
  const url = new URL(loc, base);
  url.searchParams.set('digest', digest);
  const put = await request(url.toString(), {
    method: 'PUT',
    headers: { ...h, 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    body: data,
    dispatcher,
  });
  const text = await put.body.text();
  if (put.statusCode !== 201) throw new Error(`blob upload finish ${repo}: ${put.statusCode} ${text}`);
  return digest;
}

/** A small OCI image: its config and layer blobs, and a manifest made unique by `seed`. */
export interface SmallImage {
  config: Buffer;
  layer: Buffer;
  manifest: Buffer;
  digest: string;
}

/** Builds a small OCI image; images with the same `blobSeed` share blobs, `seed` varies the manifest. */
export function smallImage(seed: string, blobSeed = seed, platform = { architecture: 'amd64', os: 'linux' }): SmallImage {
  const layer = Buffer.from(`layer ${blobSeed}\n`);
  const config = Buffer.from(
    JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, config: {} }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
      annotations: { 'org.example.seed': seed },
    }),
  );
  return { config, layer, manifest, digest: sha256(manifest) };
}

/** PUTs a manifest; returns the digest the registry answered with. */
export async function putManifest(
  base: string,
  repo: string,
  reference: string,
  manifest: Buffer,
  opts: { auth?: string; mediaType?: string; dispatcher?: Dispatcher } = {},
): Promise<string> {
  const h: Record<string, string> = { 'content-type': opts.mediaType ?? 'application/vnd.oci.image.manifest.v1+json' };
  if (opts.auth) h.authorization = opts.auth;
  const res = await request(`${base}/v2/${repo}/manifests/${reference}`, { method: 'PUT', headers: h, body: manifest, dispatcher: opts.dispatcher });
  const text = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`PUT /v2/${repo}/manifests/${reference}: ${res.statusCode} ${text}`);
  const d = res.headers['docker-content-digest'];
  return String(Array.isArray(d) ? d[0] : (d ?? sha256(manifest)));
}

/** Pushes a small image (both blobs, then the manifest by `tag`, or by digest when no tag). */
export async function pushSmallImage(
  base: string,
  repo: string,
  img: SmallImage,
  opts: { tag?: string; auth?: string; dispatcher?: Dispatcher } = {},
): Promise<string> {
  await pushBlob(base, repo, img.layer, opts.auth, opts.dispatcher);
  await pushBlob(base, repo, img.config, opts.auth, opts.dispatcher);
  return putManifest(base, repo, opts.tag ?? img.digest, img.manifest, opts);
}

/** Pushes `count` small images that share their blobs to `repo` (the blobs once), tagged v0, v1, …. */
export async function pushTaggedImages(base: string, repo: string, count: number, auth?: string): Promise<void> {
  const first = smallImage(`${repo}-0`, repo);
  await pushBlob(base, repo, first.layer, auth);
  await pushBlob(base, repo, first.config, auth);
  for (let i = 0; i < count; i++) await putManifest(base, repo, `v${i}`, smallImage(`${repo}-${i}`, repo).manifest, { auth });
}

/**
 * Polls `f` every 50 ms until it returns something truthy, and returns that. It has no deadline of
 * its own: the calling test's `timeout` fails it instead of a timed assertion.
 */
export async function eventually<T>(f: () => Promise<T | undefined | null | false>): Promise<T> {
  for (;;) {
    const v = await f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
