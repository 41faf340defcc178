/**
 * Project `metadata` at the edge: Harbor's ProjectMetadata keys only, each with a bounded value form.
 *
 * Harbor's request model is a typed struct, so it drops unknown keys silently on POST/PUT
 * /projects, and its /metadatas endpoint refuses them with `invalid key: <key>`. Wharf refuses
 * them on POST/PUT with the same message (a typo such as `auto_scann` is reported instead of being
 * lost, and nothing unbounded can be stored). The value forms are Harbor's:
 *
 * - booleans (`public`, `enable_content_trust`, `enable_content_trust_cosign`, `prevent_vul`,
 *   `auto_scan`, `auto_sbom_generation`, `reuse_sys_cve_allowlist`,
 *   `proxy_cache_local_on_not_found`, `proxy_referrer_api`): a JSON boolean or a string Go's
 *   strconv.ParseBool accepts (`1`, `t`, `TRUE`, ...), stored as `"true"` or `"false"`;
 * - `severity`: `none`, `low`, `medium`, `high`, `critical` (any case), stored in lower case;
 *   `negligible` is stored as `none`, as Harbor stores it;
 * - `retention_id`: omitted or `""` (Harbor's rule on create; on update also the project's current
 *   value, the id of its tag retention policy); never stored here (tag retention owns it);
 * - proxy-cache keys (`proxy_speed_kb`, `max_upstream_conn`: int32 strings;
 *   `proxy_cache_filter_pattern`: at most {@link maxFilterPatternLength} characters;
 *   `proxy_cache_filter_kind`: `doublestar`, `regex` or empty): validated. Two of them,
 *   `proxy_speed_kb` and `proxy_cache_local_on_not_found` ({@link proxyMetadataKeys}), are returned
 *   apart in `proxy` and stored for proxy-cache projects only (the caller decides); the others are
 *   dropped (Wharf does not implement them), and all are dropped for ordinary projects, as Harbor
 *   drops them there.
 *
 * A `null` value counts as absent (Harbor's fields are x-nullable). Every stored value is at most
 * 11 characters, so a project's metadata is bounded whatever a client sends.
 *
 * `/projects/{p}/metadatas/` (src/projects/project-metadatas.ts) writes one key at a time
 * ({@link parseMetadataPair}): `public` and the stored keys with the same value forms, Harbor's
 * messages (`only allow one key/value pair`, `invalid key: <key>`, `invalid value: <value>`);
 * `retention_id` is tag retention's to set and is refused; proxy-cache keys, which only proxy-cache
 * projects hold, are `invalid key` there as in Harbor.
 */
import { fail } from '../domain/index.ts';

/** Boolean keys Wharf stores (as "true"/"false"). */
const storedBoolKeys = ['enable_content_trust', 'enable_content_trust_cosign', 'prevent_vul', 'auto_scan', 'auto_sbom_generation', 'reuse_sys_cve_allowlist'] as const;

/** Boolean keys of proxy-cache projects: validated, not stored. */
const proxyBoolKeys = ['proxy_cache_local_on_not_found', 'proxy_referrer_api'] as const;

/** Every boolean key (`public` is kept in its own column). */
const boolKeys = ['public', ...storedBoolKeys, ...proxyBoolKeys] as const;

/** Harbor's severities for `severity` (ParseSeverityVersion3). */
export const severities = ['none', 'low', 'medium', 'high', 'critical'] as const;

/** Keys Wharf stores in `projects.metadata` (besides `public`, which has its own column) for every project. */
export const storedMetadataKeys = [...storedBoolKeys, 'severity'] as const;

/** Proxy-cache keys Wharf stores, for proxy-cache projects only (never writable through `/metadatas`). */
export const proxyMetadataKeys = ['proxy_speed_kb', 'proxy_cache_local_on_not_found'] as const;

/** Harbor's ProjectMetadata keys (its swagger's definition). */
export const projectMetadataKeys = [
  'public',
  ...storedMetadataKeys,
  'retention_id',
  'proxy_speed_kb',
  'max_upstream_conn',
  ...proxyBoolKeys,
  'proxy_cache_filter_pattern',
  'proxy_cache_filter_kind',
] as const;

/** A Harbor project metadata key. */
export type ProjectMetadataKey = (typeof projectMetadataKeys)[number];

/** A stored key. */
export type StoredMetadataKey = (typeof storedMetadataKeys)[number];

/** A stored proxy-cache key. */
export type ProxyMetadataKey = (typeof proxyMetadataKeys)[number];

/** The proxy-cache keys of a request, normalised. */
export type ProxyMetadata = Partial<Record<ProxyMetadataKey, string>>;

/** The stored metadata: known keys with normalised values only (proxy-cache keys on proxy-cache projects). */
export type StoredMetadata = Partial<Record<StoredMetadataKey | ProxyMetadataKey, string>>;

/** Longest `proxy_cache_filter_pattern` accepted (it is validated and dropped, never stored). */
export const maxFilterPatternLength = 1024;

/** A parsed `metadata` request: `public` apart, then the values to store, then the proxy-cache values. */
export interface MetadataInput {
  isPublic: boolean | undefined;
  values: StoredMetadata;
  /** Stored only when the project is a proxy cache. */
  proxy: ProxyMetadata;
}

const allKeys: ReadonlySet<string> = new Set(projectMetadataKeys);
const boolKeySet: ReadonlySet<string> = new Set(boolKeys);
const storedKeySet: ReadonlySet<string> = new Set(storedMetadataKeys);

function isStoredKey(k: string): k is StoredMetadataKey {
  return storedKeySet.has(k);
}

/** Values Go's strconv.ParseBool accepts (Harbor parses boolean metadata with it); undefined otherwise. */
export function goBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') return undefined;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  return undefined;
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}

function invalidValue(key: string, v: unknown, expected: string): never {
  throw fail('BAD_REQUEST', `invalid value: ${show(v)} (metadata.${key} must be ${expected})`);
}

function int32String(key: string, v: unknown): void {
  if (typeof v !== 'string' || !/^-?[0-9]{1,10}$/.test(v) || Number(v) < -(2 ** 31) || Number(v) > 2 ** 31 - 1) {
    invalidValue(key, v, 'a 32-bit integer as a string, such as "-1" or "1024"');
  }
}

/**
 * Normalises one known, stored key's value; undefined when the value is not one of the key's forms.
 * Used for stored rows too, so a row written by an older version shows only what is valid now.
 */
function normaliseStored(key: StoredMetadataKey, v: unknown): string | undefined {
  if (key === 'severity') {
    if (typeof v !== 'string') return undefined;
    const s = v.toLowerCase();
    if (s === 'negligible') return 'none';
    return (severities as readonly string[]).includes(s) ? s : undefined;
  }
  const b = goBool(v);
  return b === undefined ? undefined : String(b);
}

/**
 * Parses a request's `metadata` (POST and PUT /projects); `create` picks Harbor's message for a
 * `retention_id`. Throws BAD_REQUEST naming the first bad key or value.
 */
export function parseMetadataInput(v: unknown, opts: { create: boolean; retentionId?: string }): MetadataInput {
  if (v === undefined || v === null) return { isPublic: undefined, values: {}, proxy: {} };
  if (typeof v !== 'object' || Array.isArray(v)) throw fail('BAD_REQUEST', 'metadata must be an object of string values');
  let isPublic: boolean | undefined;
  const values: StoredMetadata = {};
  const proxy: ProxyMetadata = {};
  for (const [key, val] of Object.entries(v)) {
    if (!allKeys.has(key)) {
      throw fail('BAD_REQUEST', `invalid key: ${show(key)} (project metadata keys: ${projectMetadataKeys.join(', ')})`);
    }
    if (val === null) continue;
    if (key === 'public') {
      isPublic = goBool(val);
      if (isPublic === undefined) invalidValue(key, val, '"true" or "false"');
    } else if (isStoredKey(key)) {
      const n = normaliseStored(key, val);
      if (n === undefined) invalidValue(key, val, key === 'severity' ? severities.map((s) => `"${s}"`).join(', ') : '"true" or "false"');
      values[key] = n;
    } else if (key === 'retention_id') {
      // On update Harbor accepts the id of the policy the project already has (it is tag retention's to change).
      if (val !== '' && (opts.create || opts.retentionId === undefined || val !== opts.retentionId)) {
        throw fail(
          'BAD_REQUEST',
          opts.create
            ? "the retention_id in the request's payload when creating a project should be omitted, alternatively passing an empty string"
            : "the retention_id in the request's payload when updating a project should be omitted, alternatively passing the one that has already been associated to this project",
        );
      }
    } else if (key === 'proxy_speed_kb' || key === 'max_upstream_conn') {
      int32String(key, val);
      if (key === 'proxy_speed_kb') proxy.proxy_speed_kb = String(Number(val));
    } else if (key === 'proxy_cache_filter_pattern') {
      if (typeof val !== 'string' || val.length > maxFilterPatternLength) invalidValue(key, val, `a string of at most ${maxFilterPatternLength} characters`);
    } else if (key === 'proxy_cache_filter_kind') {
      if (val !== '' && val !== 'doublestar' && val !== 'regex') invalidValue(key, val, '"doublestar", "regex" or ""');
    } else if (boolKeySet.has(key)) {
      // proxy_cache_local_on_not_found, proxy_referrer_api: proxy-cache only; the first is kept apart, the second dropped.
      const b = goBool(val);
      if (b === undefined) invalidValue(key, val, '"true" or "false"');
      if (key === 'proxy_cache_local_on_not_found') proxy.proxy_cache_local_on_not_found = String(b);
    }
  }
  return { isPublic, values, proxy };
}

/**
 * The stored metadata of a row, as the API shows it: only known stored keys with valid values.
 * Rows written by versions that stored any key (up to megabytes of them) read back bounded.
 */
export function readStoredMetadata(text: string | null): StoredMetadata {
  if (text === null || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const out: StoredMetadata = {};
  for (const key of storedMetadataKeys) {
    if (!Object.hasOwn(parsed, key)) continue;
    // A non-null, non-array object (checked above): its own keys are strings, its values unknown.
    const n = normaliseStored(key, (parsed as Record<string, unknown>)[key]);
    if (n !== undefined) out[key] = n;
  }
  // Proxy-cache keys: only proxy-cache projects have them stored.
  for (const key of proxyMetadataKeys) {
    if (!Object.hasOwn(parsed, key)) continue;
    const v: unknown = (parsed as Record<string, unknown>)[key]; // a non-null, non-array object, as above
    if (key === 'proxy_speed_kb') {
      if (typeof v === 'string' && /^-?[0-9]{1,10}$/.test(v) && Math.abs(Number(v)) <= 2 ** 31) out[key] = String(Number(v));
    } else {
      const b = goBool(v);
      if (b !== undefined) out[key] = String(b);
    }
  }
  return out;
}

/** One key a `/metadatas` request may write: `public` (its own column) or a stored key. */
export type WritableMetadataKey = 'public' | StoredMetadataKey;

/** A parsed `/metadatas` write: the key and its normalised value. */
export interface MetadataPair {
  key: WritableMetadataKey;
  value: string;
}

/** The refusal of a write of `retention_id` through `/metadatas`. */
export const retentionIdReadOnly = 'retention_id is set by the project\'s tag retention policy (/retentions) and cannot be written through /metadatas';

/**
 * Checks that `key` may be written or deleted through `/metadatas`: BAD_REQUEST `invalid key` for
 * anything but `public` and the stored keys, and the read-only message for `retention_id`.
 */
export function writableMetadataKey(key: string): WritableMetadataKey {
  if (key === 'retention_id') throw fail('BAD_REQUEST', retentionIdReadOnly);
  if (key === 'public' || isStoredKey(key)) return key;
  throw fail('BAD_REQUEST', `invalid key: ${show(key)}`);
}

/**
 * Parses the body of `POST /metadatas/` (`onlyKey` undefined: exactly one pair) or of
 * `PUT /metadatas/{onlyKey}` (the value of `onlyKey` in the body, other keys ignored, as Harbor
 * does). Values are Harbor's strings (a JSON boolean is taken too), normalised as on PUT /projects.
 */
export function parseMetadataPair(body: unknown, onlyKey?: string): MetadataPair {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object of string values');
  let key: string;
  let raw: unknown;
  if (onlyKey === undefined) {
    const entries = Object.entries(body);
    const first = entries[0];
    if (entries.length !== 1 || !first) throw fail('BAD_REQUEST', 'only allow one key/value pair');
    [key, raw] = first;
  } else {
    key = onlyKey;
    // A non-null, non-array object (checked above): its own keys are strings, its values unknown.
    raw = Object.hasOwn(body, key) ? (body as Record<string, unknown>)[key] : '';
  }
  const k = writableMetadataKey(key);
  const value = k === 'public' ? (goBool(raw) === undefined ? undefined : String(goBool(raw))) : normaliseStored(k, raw);
  if (value === undefined) throw fail('BAD_REQUEST', `invalid value: ${show(raw)}`);
  return { key: k, value };
}
