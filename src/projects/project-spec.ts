/**
 * Harbor's ProjectReq, parsed at the edge into typed input: the project name rule, the deprecated
 * top-level `public`, `storage_limit`, `registry_id` (a proxy-cache project's upstream endpoint, a
 * positive integer; whether it exists and may be proxied is checked by the caller) and `metadata`
 * (its keys and values in src/projects/project-metadata-spec.ts), with Harbor's messages. Pure.
 */
import { fail, isValidProjectName, parseCveAllowlist, type CveAllowlistInput } from '../domain/index.ts';
import { goBool, parseMetadataInput, type ProxyMetadata, type StoredMetadata } from './project-metadata-spec.ts';

/** Harbor's ProjectReq (POST) and the updatable subset of it (PUT). */
export interface ProjectRequest {
  project_name?: unknown;
  /** Deprecated in Harbor in favour of metadata.public, still accepted. */
  public?: unknown;
  metadata?: unknown;
  storage_limit?: unknown;
  /** Harbor's proxy-cache upstream: the id of a registry endpoint (create only; ignored on update, as Harbor does). */
  registry_id?: unknown;
  /** Harbor's CVEAllowlist of the project (`project_id` 0 or the project's own id). */
  cve_allowlist?: unknown;
}

/** A parsed POST /projects. */
export interface NewProject {
  name: string;
  isPublic: boolean;
  /** Bytes, -1 unlimited; null when not given: the system's default applies. */
  storageLimit: number | null;
  metadata: StoredMetadata;
  /** The registry endpoint a proxy-cache project caches; null for an ordinary project. */
  registryId: number | null;
  /** The proxy-cache metadata sent (stored only when `registryId` is set). */
  proxyMetadata: ProxyMetadata;
  /** The project's CVE allowlist, when sent. */
  allowlist?: CveAllowlistInput;
}

/** A parsed PUT /projects/{p}: only what was sent. */
export interface ProjectChange {
  isPublic?: boolean;
  storageLimit?: number;
  /** Keys to merge into the stored metadata. */
  metadata: StoredMetadata;
  /** Proxy-cache keys to merge (only when the project is a proxy cache). */
  proxyMetadata: ProxyMetadata;
  /** The new CVE allowlist (replaces the stored one), when sent. */
  allowlist?: CveAllowlistInput;
}

/** True when the request names a proxy-cache upstream (`registry_id` present and not null). */
export function wantsProxyCache(body: unknown): boolean {
  return body !== null && typeof body === 'object' && 'registry_id' in body && body.registry_id !== undefined && body.registry_id !== null;
}

/** `registry_id` of a create: null when absent, else a positive integer. */
function parseRegistryId(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw fail('BAD_REQUEST', 'registry_id must be an integer: the id of a registry endpoint');
  if (v <= 0) throw fail('BAD_REQUEST', `invalid registry_id ${v}: it must be greater than 0`);
  return v;
}

/** `public` at the top level of a request (Harbor's deprecated boolean; Go's spellings accepted). */
function parseBoolString(v: unknown, field: string): boolean {
  const b = goBool(v);
  if (b === undefined) throw fail('BAD_REQUEST', `${field} must be "true" or "false"`);
  return b;
}

function parseStorageLimit(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < -1 || v === 0) {
    throw fail('BAD_REQUEST', 'storage_limit must be -1 (unlimited) or a positive number of bytes');
  }
  return v;
}

function requestObject(req: unknown): ProjectRequest {
  if (req === null || typeof req !== 'object') throw fail('BAD_REQUEST', 'the body must be a JSON object');
  return req;
}

/** Parses Harbor's ProjectReq of a create. */
export function parseNewProject(body: unknown): NewProject {
  const req = requestObject(body);
  const name = req.project_name;
  if (typeof name !== 'string' || name === '') throw fail('BAD_REQUEST', 'project_name is required');
  if (!isValidProjectName(name)) {
    throw fail('BAD_REQUEST', `invalid project name "${name}": use 1 to 255 lower-case letters and digits, separated by single '.', '_' or '-'`);
  }
  const registryId = parseRegistryId(req.registry_id);
  const meta = parseMetadataInput(req.metadata, { create: true });
  const isPublic = meta.isPublic ?? (req.public === undefined ? false : parseBoolString(req.public, 'public'));
  // Absent or null: the system's storage_per_project applies.
  const storageLimit = req.storage_limit === undefined || req.storage_limit === null ? null : parseStorageLimit(req.storage_limit);
  // The project has no id yet: its list's project_id must be 0 (or absent).
  const allowlist = req.cve_allowlist === undefined || req.cve_allowlist === null ? undefined : parseCveAllowlist(req.cve_allowlist, 0);
  return { name, isPublic, storageLimit, metadata: meta.values, registryId, proxyMetadata: meta.proxy, ...(allowlist ? { allowlist } : {}) };
}

/** Parses Harbor's ProjectReq of an update of the project named `currentName`, id `currentId` (a project cannot be renamed). */
export function parseProjectChange(body: unknown, currentName: string, currentId = 0, retentionId?: string): ProjectChange {
  const req = requestObject(body);
  if (req.project_name !== undefined && req.project_name !== currentName) throw fail('BAD_REQUEST', 'a project cannot be renamed');
  const meta = parseMetadataInput(req.metadata, { create: false, ...(retentionId === undefined ? {} : { retentionId }) });
  const isPublic = meta.isPublic ?? (req.public === undefined ? undefined : parseBoolString(req.public, 'public'));
  const storageLimit = req.storage_limit === undefined || req.storage_limit === null ? undefined : parseStorageLimit(req.storage_limit);
  const allowlist = req.cve_allowlist === undefined || req.cve_allowlist === null ? undefined : parseCveAllowlist(req.cve_allowlist, currentId);
  return { ...(isPublic === undefined ? {} : { isPublic }), ...(storageLimit === undefined ? {} : { storageLimit }), metadata: meta.values, proxyMetadata: meta.proxy, ...(allowlist ? { allowlist } : {}) };
}
