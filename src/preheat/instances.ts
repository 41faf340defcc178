/**
 * Harbor's P2P provider instances (/p2p/preheat/providers, /p2p/preheat/instances): CRUD by
 * name, Harbor's messages, and ping (a real health check of the provider, ./providers.ts).
 * System admin only. `auth_info` is write-only: reads leave it out (as Harbor does), and an update
 * without it (or with an empty object) keeps the stored one unless the auth mode becomes NONE,
 * or the endpoint changes, so that a secret is never sent to a host it was not given for. A
 * DELETE, or disabling, is refused (412) while a preheat policy uses the instance. At most one
 * instance is the default. The SQL is in src/db/preheat-store.ts.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, PreheatInstanceFields, PreheatInstanceRow } from '../db/index.ts';
import {
  deletePreheatInstance,
  insertPreheatInstance,
  isUniqueViolation,
  listPreheatInstances,
  preheatEndpointTaken,
  preheatInstanceInUse,
  readPreheatInstance,
  readPreheatInstanceByName,
  updatePreheatInstance,
} from '../db/index.ts';
import type { Authorizer, CallContext } from '../auth/index.ts';
import { fail, type ListQuery, type Page } from '../domain/index.ts';
import { defaultRemoteLimits, normalizeEndpointUrl, type RemoteLimits } from '../replication/index.ts';
import { isAuthMode, isVendor, providerMetadata, ProviderClient, vendors, type AuthMode, type ProviderAccess, type ProviderMetadata, type Vendor } from './providers.ts';

/** Harbor's Instance object (without `auth_info`, which is never shown). */
export interface InstanceView {
  id: number;
  name: string;
  description: string;
  vendor: string;
  endpoint: string;
  auth_mode: string;
  status: string;
  enabled: boolean;
  default: boolean;
  insecure: boolean;
  setup_timestamp: number;
}

/** Harbor's ProviderUnderProject. */
export interface ProviderUnderProject {
  id: number;
  provider: string;
  enabled: boolean;
  default: boolean;
}

/** Harbor's name rule for instances and policies. */
export const preheatNamePattern = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

type Obj = Record<string, unknown>;

/** A JSON object body, BAD_REQUEST otherwise. */
export function objectBody(body: unknown, what: string): Obj {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw fail('BAD_REQUEST', `${what} body is required`);
  return body as Obj; // checked just above: a non-array object
}

/** A string field: undefined when absent or null, BAD_REQUEST when not a string. */
export function strField(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `${key} must be a string`);
  return v;
}

/** A boolean field: undefined when absent or null, BAD_REQUEST when not a boolean. */
export function boolField(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `${key} must be a boolean`);
  return v;
}

function checkName(name: string | undefined): string {
  if (name === undefined || !preheatNamePattern.test(name)) throw fail('BAD_REQUEST', `name ${name ?? ''} is invalid`);
  return name;
}

function checkVendor(v: string | undefined): Vendor {
  if (v === undefined || !isVendor(v)) throw fail('BAD_REQUEST', `no driver registered for provider ${v ?? ''}: supported vendors are ${vendors.join(', ')}`);
  return v;
}

function checkAuthMode(m: string | undefined): AuthMode {
  if (m === undefined || m === '') return 'NONE';
  if (!isAuthMode(m)) throw fail('BAD_REQUEST', `invalid auth_mode "${m}": NONE, BASIC, OAUTH or CUSTOM`);
  return m;
}

function checkEndpoint(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') throw fail('BAD_REQUEST', 'the endpoint of the instance is required');
  return normalizeEndpointUrl(raw);
}

/** `auth_info` as given: undefined when absent, null or `{}`; BAD_REQUEST unless an object of strings. */
function authInfoOf(o: Obj): Record<string, string> | undefined {
  const v = o.auth_info;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw fail('BAD_REQUEST', 'auth_info must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw fail('BAD_REQUEST', 'auth_info must be an object of strings');
    out[k] = x;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** BAD_REQUEST when a mode's credentials are missing (Harbor's auth handlers' checks). */
function checkAuth(mode: AuthMode, info: Record<string, string>): void {
  if (mode === 'BASIC' && (!info.username || info.password === undefined)) throw fail('BAD_REQUEST', 'missing username and/or password');
  if (mode === 'OAUTH' && !info.token) throw fail('BAD_REQUEST', 'missing OAuth token');
  if (mode === 'CUSTOM' && Object.keys(info).length === 0) throw fail('BAD_REQUEST', 'missing custom authentication data');
  if (mode === 'CUSTOM' && Object.keys(info).some((k) => !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k))) throw fail('BAD_REQUEST', 'custom authentication data must be keyed by header names');
}

/** A row as Harbor shows it: no `auth_info`, status `Unknown` (the health is its own call). */
export function instanceView(r: PreheatInstanceRow): InstanceView {
  return {
    id: Number(r.id),
    name: r.name,
    description: r.description,
    vendor: r.vendor,
    endpoint: r.endpoint,
    auth_mode: r.auth_mode,
    status: 'Unknown',
    enabled: Number(r.enabled) === 1,
    default: Number(r.is_default) === 1,
    insecure: Number(r.insecure) === 1,
    setup_timestamp: Math.floor(Number(r.setup_timestamp) / 1000),
  };
}

function parseAuthInfo(text: string): Record<string, string> {
  const v: unknown = JSON.parse(text);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function fieldsOf(r: PreheatInstanceRow): PreheatInstanceFields {
  return {
    name: r.name,
    description: r.description,
    vendor: r.vendor,
    endpoint: r.endpoint,
    authMode: r.auth_mode,
    authInfo: parseAuthInfo(r.auth_info),
    enabled: Number(r.enabled) === 1,
    isDefault: Number(r.is_default) === 1,
    insecure: Number(r.insecure) === 1,
  };
}

/** How to reach a stored instance (holds its secrets). */
export function accessOf(f: PreheatInstanceFields): ProviderAccess {
  return { vendor: checkVendor(f.vendor), endpoint: f.endpoint, authMode: checkAuthMode(f.authMode), authInfo: f.authInfo, insecure: f.insecure };
}

/** What the instance service needs. */
export interface PreheatInstancesDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  logger: Logger;
  /** Bounds on provider calls (defaults: 15 s, 1 MiB). */
  limits?: RemoteLimits;
}

/** A stored instance for the preheat jobs' own use. */
export interface StoredInstance {
  id: number;
  name: string;
  enabled: boolean;
  /** Holds secrets: never log it or show it. */
  access: ProviderAccess;
}

/** Provider instances: providers, CRUD, ping. */
export class PreheatInstances {
  readonly limits: RemoteLimits;

  constructor(private readonly deps: PreheatInstancesDeps) {
    this.limits = deps.limits ?? defaultRemoteLimits;
  }

  private admin(ctx: CallContext): void {
    this.deps.authorizer.check(ctx.actor, 'admin');
  }

  private async byName(name: string): Promise<PreheatInstanceRow> {
    const row = await readPreheatInstanceByName(this.deps.db, name);
    if (!row) throw fail('NOT_FOUND', `instance ${name} not found`);
    return row;
  }

  /** The health check; BAD_REQUEST naming the instance and the reason (never a secret) when it fails. */
  async checkHealth(access: ProviderAccess, name: string): Promise<void> {
    const client = new ProviderClient(access, this.limits);
    try {
      await client.health();
    } catch (err) {
      const reason = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
      this.deps.logger.warn({ instance: name, vendor: access.vendor, endpoint: access.endpoint, reason }, 'preheat provider health check failed');
      throw fail('BAD_REQUEST', `preheat provider instance ${access.vendor}-${name}:${access.endpoint} is not healthy: ${reason}`);
    } finally {
      await client.close();
    }
  }

  /** `GET /p2p/preheat/providers`. */
  providers(ctx: CallContext): readonly ProviderMetadata[] {
    this.admin(ctx);
    return providerMetadata;
  }

  /** `GET /p2p/preheat/instances`. */
  async list(ctx: CallContext, list: ListQuery): Promise<Page<InstanceView>> {
    this.admin(ctx);
    const page = await listPreheatInstances(this.deps.db, list);
    return { items: page.items.map(instanceView), total: page.total };
  }

  /** `GET /p2p/preheat/instances/{name}`. */
  async get(ctx: CallContext, name: string): Promise<InstanceView> {
    this.admin(ctx);
    return instanceView(await this.byName(name));
  }

  /** `POST /p2p/preheat/instances`: validated, unique by name and endpoint; returns the name. */
  async create(ctx: CallContext, body: unknown): Promise<string> {
    this.admin(ctx);
    const o = objectBody(body, 'instance');
    const authMode = checkAuthMode(strField(o, 'auth_mode'));
    const authInfo = authMode === 'NONE' ? {} : (authInfoOf(o) ?? {});
    checkAuth(authMode, authInfo);
    const f: PreheatInstanceFields = {
      name: checkName(strField(o, 'name')),
      description: strField(o, 'description') ?? '',
      vendor: checkVendor(strField(o, 'vendor')),
      endpoint: checkEndpoint(strField(o, 'endpoint')),
      authMode,
      authInfo,
      enabled: boolField(o, 'enabled') ?? false,
      isDefault: boolField(o, 'default') ?? false,
      insecure: boolField(o, 'insecure') ?? false,
    };
    if (await readPreheatInstanceByName(this.deps.db, f.name)) throw fail('CONFLICT', `instance ${f.name} already exists`);
    if (await preheatEndpointTaken(this.deps.db, f.endpoint)) throw fail('CONFLICT', `an instance with endpoint ${f.endpoint} already exists`);
    try {
      await insertPreheatInstance(this.deps.db, f, Date.now());
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', `instance ${f.name} already exists`);
      throw err;
    }
    return f.name;
  }

  /** `PUT /p2p/preheat/instances/{name}`: fields left out keep their stored values. */
  async update(ctx: CallContext, name: string, body: unknown): Promise<void> {
    this.admin(ctx);
    const o = objectBody(body, 'instance');
    const row = await this.byName(name);
    const id = Number(row.id);
    const f = fieldsOf(row);
    const newName = strField(o, 'name');
    if (newName !== undefined && newName !== '') f.name = checkName(newName);
    const description = strField(o, 'description');
    if (description !== undefined) f.description = description;
    const vendor = strField(o, 'vendor');
    if (vendor !== undefined && vendor !== '' && vendor !== row.vendor) throw fail('BAD_REQUEST', `provider [${row.name}] vendor cannot be changed`);
    const endpoint = strField(o, 'endpoint');
    if (endpoint !== undefined && endpoint !== '') f.endpoint = checkEndpoint(endpoint);
    const mode = strField(o, 'auth_mode');
    if (mode !== undefined && mode !== '') f.authMode = checkAuthMode(mode);
    const info = authInfoOf(o);
    if (f.authMode === 'NONE') f.authInfo = {};
    else if (info !== undefined) f.authInfo = info;
    else if (f.endpoint !== row.endpoint || f.authMode !== row.auth_mode) f.authInfo = {};
    checkAuth(checkAuthMode(f.authMode), f.authInfo);
    const enabled = boolField(o, 'enabled');
    if (enabled !== undefined) f.enabled = enabled;
    const isDefault = boolField(o, 'default');
    if (isDefault !== undefined) f.isDefault = isDefault;
    const insecure = boolField(o, 'insecure');
    if (insecure !== undefined) f.insecure = insecure;
    if (!f.enabled && (await preheatInstanceInUse(this.deps.db, id))) throw fail('PRECONDITION_FAILED', `Provider [${row.name}] cannot be disabled as some preheat policies are using it`);
    if (f.name !== row.name && (await readPreheatInstanceByName(this.deps.db, f.name))) throw fail('CONFLICT', `instance ${f.name} already exists`);
    if (f.endpoint !== row.endpoint && (await preheatEndpointTaken(this.deps.db, f.endpoint, id))) throw fail('CONFLICT', `an instance with endpoint ${f.endpoint} already exists`);
    try {
      await updatePreheatInstance(this.deps.db, id, f);
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', `instance ${f.name} already exists`);
      throw err;
    }
  }

  /** `DELETE /p2p/preheat/instances/{name}`. */
  async delete(ctx: CallContext, name: string): Promise<void> {
    this.admin(ctx);
    const row = await this.byName(name);
    const id = Number(row.id);
    if (await preheatInstanceInUse(this.deps.db, id)) throw fail('PRECONDITION_FAILED', `Provider [${row.name}] cannot be deleted as some preheat policies are using it`);
    if (!(await deletePreheatInstance(this.deps.db, id))) throw fail('NOT_FOUND', `instance ${name} not found`);
  }

  /**
   * `POST /p2p/preheat/instances/ping`: by `id` (the stored instance and its credentials), or by
   * vendor and endpoint (with `auth_mode` and `auth_info`). 200 when healthy.
   */
  async ping(ctx: CallContext, body: unknown): Promise<void> {
    this.admin(ctx);
    const o = objectBody(body, 'instance');
    const rawId = o.id;
    if (typeof rawId === 'number' && rawId > 0) {
      if (!Number.isSafeInteger(rawId)) throw fail('BAD_REQUEST', 'id must be an integer');
      const row = await readPreheatInstance(this.deps.db, rawId);
      if (!row) throw fail('NOT_FOUND', `instance ${rawId} not found`);
      await this.checkHealth(accessOf(fieldsOf(row)), row.name);
      return;
    }
    const endpoint = strField(o, 'endpoint');
    if (endpoint === undefined || endpoint.trim() === '') throw fail('BAD_REQUEST', 'the endpoint of the instance is required');
    const authMode = checkAuthMode(strField(o, 'auth_mode'));
    const authInfo = authMode === 'NONE' ? {} : (authInfoOf(o) ?? {});
    checkAuth(authMode, authInfo);
    const access: ProviderAccess = { vendor: checkVendor(strField(o, 'vendor')), endpoint: checkEndpoint(endpoint), authMode, authInfo, insecure: boolField(o, 'insecure') ?? false };
    await this.checkHealth(access, strField(o, 'name') ?? '');
  }

  /** A stored instance by id for the preheat jobs (no caller check; read through `db`, a transaction's when inside one); undefined when gone or of an unserved vendor. */
  async stored(id: number, db: Kysely<Database> = this.deps.db): Promise<StoredInstance | undefined> {
    const row = await readPreheatInstance(db, id);
    if (!row || !isVendor(row.vendor)) return undefined;
    const f = fieldsOf(row);
    return { id, name: row.name, enabled: f.enabled, access: accessOf(f) };
  }
}
