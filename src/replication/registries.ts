/**
 * Harbor's registry endpoints (/registries, /replication/adapters, /replication/adapterinfos):
 * the remote registries replication and proxy cache talk to. CRUD with Harbor's messages, a
 * health check before every create and update, ping (by id or by the fields), the adapter's
 * capabilities (`/info`). System admin only. The secret is write-only: reads show `*****`, a PUT
 * of `*****` keeps the stored one, a URL change without a new secret clears it, and no log line
 * or error message carries it. A DELETE is refused (412) while a replication policy or a
 * proxy-cache project refers to the endpoint. The REGISTRY_HEALTH job re-checks every endpoint
 * (every 5 minutes once its schedule is installed) and stores the result as its status. The SQL
 * is in src/db/registry-endpoint-store.ts; the remote calls in ./remote.ts.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, RegistryEndpointRow, RegistryEndpointFields } from '../db/index.ts';
import {
  anyRegistryEndpoint,
  deleteRegistryEndpoint,
  globalLabelNames,
  insertRegistryEndpoint,
  isUniqueViolation,
  listRegistryEndpoints,
  readRegistryEndpoint,
  registryEndpointNameTaken,
  registryInUse,
  setRegistryEndpointStatus,
  updateRegistryEndpoint,
} from '../db/index.ts';
import type { Authorizer, CallContext } from '../auth/index.ts';
import { fail, type ListQuery, type Page } from '../domain/index.ts';
import type { JobContext, JobHandler, JobService } from '../jobs/index.ts';
import { adapterTypes, checkCaCertificate, defaultRemoteLimits, describe, isAdapterType, normalizeEndpointUrl, RemoteEndpoint, type AdapterType, type EndpointAccess, type PingResult, type RemoteLimits } from './remote.ts';

/** What reads show instead of a secret; a PUT or ping sending it back means "the stored one". */
export const maskedSecret = '*****';

/** Harbor's Registry object. */
export interface RegistryView {
  id: number;
  name: string;
  type: string;
  url: string;
  insecure: boolean;
  ca_certificate: string | null;
  description: string;
  credential: { type: string; access_key: string; access_secret: string };
  status: string;
  creation_time: string;
  update_time: string;
}

/** A row as Harbor shows it: the secret masked. */
export function registryView(r: RegistryEndpointRow): RegistryView {
  return {
    id: Number(r.id),
    name: r.name,
    type: r.type,
    url: r.url,
    insecure: Number(r.insecure) === 1,
    ca_certificate: r.ca_certificate,
    description: r.description,
    credential: { type: r.credential_type, access_key: r.access_key, access_secret: maskedSecret },
    status: r.status,
    creation_time: new Date(Number(r.creation_time)).toISOString(),
    update_time: new Date(Number(r.update_time)).toISOString(),
  };
}

/** Harbor's FilterStyle. */
export interface FilterStyle {
  type: string;
  style: string;
  values?: string[];
}

/** Harbor's RegistryInfo. */
export interface RegistryInfo {
  type: string;
  description: string;
  supported_resource_filters: FilterStyle[];
  supported_triggers: string[];
  supported_copy_by_chunk?: boolean;
}

/** The job that re-checks every endpoint's health, and its schedule (Harbor: every 5 minutes). */
export const REGISTRY_HEALTH = 'REGISTRY_HEALTH';
export const registryHealthCron = '0 */5 * * * *';

/** A stored endpoint as replication uses it: how to reach it (the secret included) and its view. */
export interface EndpointOf {
  id: number;
  name: string;
  type: AdapterType;
  /** Holds the secret: never log it or show it. */
  access: EndpointAccess;
  /** As `GET /registries/{id}` shows it (secret masked). */
  view: RegistryView;
}

/** Harbor's 400 for a failed health check. */
export const unhealthyMessage = 'the registry is unhealthy';
const credentialTypes = ['basic', 'oauth'];
const maxNameLength = 64;

type Obj = Record<string, unknown>;

function object(body: unknown): Obj {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object');
  return body as Obj; // checked just above: a non-array object
}

/** A string field: undefined when absent or null, BAD_REQUEST when not a string. */
function str(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `${key} must be a string`);
  return v;
}

function bool(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `${key} must be a boolean`);
  return v;
}

function checkName(name: string | undefined): string {
  if (name === undefined || name.trim() === '') throw fail('BAD_REQUEST', 'the registry name is required');
  if (name.length > maxNameLength) throw fail('BAD_REQUEST', `the registry name is too long: at most ${maxNameLength} characters`);
  return name;
}

function checkType(type: string | undefined): AdapterType {
  if (type === undefined || type === '') throw fail('BAD_REQUEST', 'the registry type is required');
  if (!isAdapterType(type)) throw fail('BAD_REQUEST', `invalid registry type "${type}": supported types are ${adapterTypes.join(', ')}`);
  return type;
}

function checkCredentialType(t: string | undefined): string {
  if (t === undefined || t === '') return 'basic';
  if (!credentialTypes.includes(t)) throw fail('BAD_REQUEST', `invalid credential type "${t}": basic or oauth`);
  return t;
}

function caOf(pem: string | undefined): string | null {
  if (pem === undefined || pem.trim() === '') return null;
  checkCaCertificate(pem);
  return pem;
}

function accessOf(f: RegistryEndpointFields): EndpointAccess {
  return { type: checkType(f.type), url: f.url, accessKey: f.accessKey, accessSecret: f.accessSecret, insecure: f.insecure, caCertificate: f.caCertificate };
}

function fieldsOf(r: RegistryEndpointRow): RegistryEndpointFields {
  return {
    name: r.name,
    type: r.type,
    url: r.url,
    credentialType: r.credential_type,
    accessKey: r.access_key,
    accessSecret: r.access_secret,
    insecure: Number(r.insecure) === 1,
    caCertificate: r.ca_certificate,
    description: r.description,
  };
}

/** What the registry endpoint service needs. */
export interface RegistryEndpointsDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  logger: Logger;
  /** Bounds on remote calls (defaults: 15 s, 1 MiB). */
  limits?: RemoteLimits;
  /** The job framework: the 5-minute REGISTRY_HEALTH schedule exists while any endpoint does. */
  jobs?: JobService;
}

/** Registry endpoints: CRUD, ping, info, adapters. */
export class RegistryEndpoints {
  private readonly limits: RemoteLimits;

  constructor(private readonly deps: RegistryEndpointsDeps) {
    this.limits = deps.limits ?? defaultRemoteLimits;
  }

  private admin(ctx: CallContext): void {
    this.deps.authorizer.check(ctx.actor, 'admin');
  }

  private async row(id: number): Promise<RegistryEndpointRow> {
    const row = await readRegistryEndpoint(this.deps.db, id);
    if (!row) throw fail('NOT_FOUND', `registry ${id} not found`);
    return row;
  }

  /** Runs the health check; logs why it failed (never the secret). */
  private async check(access: EndpointAccess, name: string): Promise<PingResult> {
    const remote = new RemoteEndpoint(access, this.limits);
    try {
      const r = await remote.ping();
      if (!r.healthy) this.deps.logger.warn({ registry: name, type: access.type, url: access.url, reason: r.reason }, 'registry health check failed');
      return r;
    } finally {
      await remote.close();
    }
  }

  /** `GET /registries`: `name` is Harbor's deprecated fuzzy filter. */
  async list(ctx: CallContext, name: string | undefined, list: ListQuery): Promise<Page<RegistryView>> {
    this.admin(ctx);
    const page = await listRegistryEndpoints(this.deps.db, name, list);
    return { items: page.items.map(registryView), total: page.total };
  }

  /** `GET /registries/{id}`. */
  async get(ctx: CallContext, id: number): Promise<RegistryView> {
    this.admin(ctx);
    return registryView(await this.row(id));
  }

  /** `POST /registries`: validated, unique by name, healthy; returns the id. */
  async create(ctx: CallContext, body: unknown): Promise<number> {
    this.admin(ctx);
    const o = object(body);
    const name = checkName(str(o, 'name'));
    const type = checkType(str(o, 'type'));
    const rawUrl = str(o, 'url');
    if (rawUrl === undefined || rawUrl.trim() === '') throw fail('BAD_REQUEST', 'the registry url is required');
    const url = normalizeEndpointUrl(rawUrl);
    const c = o.credential === undefined || o.credential === null ? {} : object(o.credential);
    const fields: RegistryEndpointFields = {
      name,
      type,
      url,
      credentialType: checkCredentialType(str(c, 'type')),
      accessKey: str(c, 'access_key') ?? '',
      accessSecret: str(c, 'access_secret') ?? '',
      insecure: bool(o, 'insecure') ?? false,
      caCertificate: caOf(str(o, 'ca_certificate')),
      description: str(o, 'description') ?? '',
    };
    if (await registryEndpointNameTaken(this.deps.db, name)) throw fail('CONFLICT', `registry ${name} already exists`);
    const health = await this.check(accessOf(fields), name);
    if (!health.healthy) throw fail('BAD_REQUEST', unhealthyMessage);
    let id: number;
    try {
      id = await insertRegistryEndpoint(this.deps.db, fields, 'healthy', Date.now());
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', `registry ${name} already exists`);
      throw err;
    }
    await this.syncHealthSchedule();
    return id;
  }

  /**
   * `PUT /registries/{id}` (Harbor's flat RegistryUpdate). A secret of `*****` or none keeps the
   * stored one, unless the URL changes: then the stored secret is cleared, so that it is never
   * sent to a host the admin did not give it for.
   */
  async update(ctx: CallContext, id: number, body: unknown): Promise<void> {
    this.admin(ctx);
    const o = object(body);
    const row = await this.row(id);
    const f = fieldsOf(row);
    const name = str(o, 'name');
    if (name !== undefined) f.name = checkName(name);
    const description = str(o, 'description');
    if (description !== undefined) f.description = description;
    const rawUrl = str(o, 'url');
    if (rawUrl !== undefined) f.url = normalizeEndpointUrl(rawUrl);
    const urlChanged = f.url !== row.url;
    const ct = str(o, 'credential_type');
    if (ct !== undefined) f.credentialType = checkCredentialType(ct);
    const key = str(o, 'access_key');
    if (key !== undefined) f.accessKey = key;
    const secret = str(o, 'access_secret');
    if (secret !== undefined && secret !== maskedSecret) f.accessSecret = secret;
    else if (urlChanged) f.accessSecret = '';
    const insecure = bool(o, 'insecure');
    if (insecure !== undefined) f.insecure = insecure;
    const ca = str(o, 'ca_certificate');
    if (ca !== undefined) f.caCertificate = caOf(ca);
    if (f.name !== row.name && (await registryEndpointNameTaken(this.deps.db, f.name, id))) throw fail('CONFLICT', `registry ${f.name} already exists`);
    const health = await this.check(accessOf(f), f.name);
    if (!health.healthy) throw fail('BAD_REQUEST', unhealthyMessage);
    try {
      await updateRegistryEndpoint(this.deps.db, id, f, 'healthy', Date.now());
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', `registry ${f.name} already exists`);
      throw err;
    }
  }

  /** `DELETE /registries/{id}`. */
  async delete(ctx: CallContext, id: number): Promise<void> {
    this.admin(ctx);
    await this.row(id);
    const used = await registryInUse(this.deps.db, id);
    if (used === 'policies') throw fail('PRECONDITION_FAILED', `the registry ${id} is referenced by replication policies, cannot delete it`);
    if (used === 'projects') throw fail('PRECONDITION_FAILED', `the registry ${id} is referenced by proxy cache project, cannot delete it`);
    if (!(await deleteRegistryEndpoint(this.deps.db, id))) throw fail('NOT_FOUND', `registry ${id} not found`);
    await this.syncHealthSchedule();
  }

  /**
   * Keeps the 5-minute REGISTRY_HEALTH schedule while any endpoint exists, and none otherwise (so
   * an instance without endpoints runs no such job). Called at start, and after a create or delete.
   */
  async syncHealthSchedule(): Promise<void> {
    const jobs = this.deps.jobs;
    if (!jobs) return;
    const wanted = await anyRegistryEndpoint(this.deps.db);
    const present = (await jobs.schedule(REGISTRY_HEALTH)) !== undefined;
    if (wanted && !present) await this.installHealthSchedule(jobs);
    else if (!wanted && present) await jobs.removeSchedule(REGISTRY_HEALTH);
  }

  /** A stored endpoint by id for replication's own use (no caller check); undefined when unknown or of an unserved type. */
  async endpoint(id: number): Promise<EndpointOf | undefined> {
    const row = await readRegistryEndpoint(this.deps.db, id);
    if (!row || !isAdapterType(row.type)) return undefined;
    return { id: Number(row.id), name: row.name, type: row.type, access: accessOf(fieldsOf(row)), view: registryView(row) };
  }

  /**
   * Checks every endpoint and stores each one's status (`healthy` or `unhealthy`); the job's log
   * names the endpoints whose status changed. Returns the counts.
   */
  async checkAll(log: (line: string) => Promise<void> = async () => {}, signal?: AbortSignal): Promise<{ checked: number; healthy: number; unhealthy: number }> {
    const out = { checked: 0, healthy: 0, unhealthy: 0 };
    for (let page = 1; ; page++) {
      const rows = await listRegistryEndpoints(this.deps.db, undefined, { page, pageSize: 100, filters: new Map(), sort: [] });
      for (const row of rows.items) {
        if (signal?.aborted) return out;
        const id = Number(row.id);
        let healthy = false;
        if (isAdapterType(row.type)) healthy = (await this.check(accessOf(fieldsOf(row)), row.name)).healthy;
        const status = healthy ? 'healthy' : 'unhealthy';
        out.checked++;
        out[status]++;
        if (status !== row.status) {
          await setRegistryEndpointStatus(this.deps.db, id, status);
          await log(`registry ${row.name} (${id}) is now ${status}`);
        }
      }
      if (rows.items.length < 100) return out;
    }
  }

  /** The REGISTRY_HEALTH job: one pass of {@link checkAll}. */
  healthHandler(): JobHandler {
    return {
      vendorType: REGISTRY_HEALTH,
      concurrency: 1,
      maxRuns: 1,
      run: async (ctx: JobContext) => ({ ...(await this.checkAll((line) => ctx.log(line), ctx.signal)) }),
    };
  }

  /** Installs (or keeps) the 5-minute REGISTRY_HEALTH schedule; its handler must be registered. */
  async installHealthSchedule(jobs: JobService): Promise<void> {
    await jobs.setSchedule(REGISTRY_HEALTH, 'Custom', registryHealthCron, {});
  }

  /**
   * `POST /registries/ping`: by `id` (the stored URL, TLS settings and CA win; only credentials
   * can be overridden, `*****` meaning the stored secret), or by type and url. The result of a
   * ping by id is stored as the endpoint's status.
   */
  async ping(ctx: CallContext, body: unknown): Promise<void> {
    this.admin(ctx);
    const o = object(body);
    const rawId = o.id;
    if (rawId !== undefined && rawId !== null) {
      if (typeof rawId !== 'number' || !Number.isSafeInteger(rawId) || rawId < 0) throw fail('BAD_REQUEST', 'id must be a non-negative integer');
      const row = await this.row(rawId);
      const f = fieldsOf(row);
      const key = str(o, 'access_key');
      if (key !== undefined) f.accessKey = key;
      const secret = str(o, 'access_secret');
      if (secret !== undefined && secret !== maskedSecret) f.accessSecret = secret;
      const health = await this.check(accessOf(f), f.name);
      const status = health.healthy ? 'healthy' : 'unhealthy';
      if (status !== row.status) await setRegistryEndpointStatus(this.deps.db, rawId, status);
      if (!health.healthy) throw fail('BAD_REQUEST', unhealthyMessage);
      return;
    }
    const type = str(o, 'type');
    const rawUrl = str(o, 'url');
    if (type === undefined || type === '' || rawUrl === undefined || rawUrl.trim() === '') throw fail('BAD_REQUEST', 'type or url cannot be empty');
    const access: EndpointAccess = {
      type: checkType(type),
      url: normalizeEndpointUrl(rawUrl),
      accessKey: str(o, 'access_key') ?? '',
      accessSecret: str(o, 'access_secret') ?? '',
      insecure: bool(o, 'insecure') ?? false,
      caCertificate: caOf(str(o, 'ca_certificate')),
    };
    checkCredentialType(str(o, 'credential_type'));
    const health = await this.check(access, access.url);
    if (!health.healthy) throw fail('BAD_REQUEST', unhealthyMessage);
  }

  /** `GET /registries/{id}/info`: the adapter's filters and triggers; id 0 is this Wharf. */
  async info(ctx: CallContext, id: number): Promise<RegistryInfo> {
    this.admin(ctx);
    if (id === 0) {
      return {
        type: 'harbor',
        description: '',
        supported_resource_filters: [
          { type: 'name', style: 'input' },
          { type: 'tag', style: 'input' },
          { type: 'label', style: 'list', values: await globalLabelNames(this.deps.db) },
          { type: 'resource', style: 'radio', values: ['image', 'artifact'] },
        ],
        supported_triggers: ['manual', 'scheduled', 'event_based'],
        supported_copy_by_chunk: true,
      };
    }
    const row = await this.row(id);
    const access = accessOf(fieldsOf(row));
    if (access.type === 'docker-registry') {
      return {
        type: 'docker-registry',
        description: '',
        supported_resource_filters: [
          { type: 'name', style: 'input' },
          { type: 'tag', style: 'input' },
          { type: 'resource', style: 'radio', values: ['image'] },
        ],
        supported_triggers: ['manual', 'scheduled'],
      };
    }
    return {
      type: 'harbor',
      description: '',
      supported_resource_filters: [
        { type: 'name', style: 'input' },
        { type: 'tag', style: 'input' },
        { type: 'label', style: 'list', values: await this.remoteLabels(access, row.name) },
        { type: 'resource', style: 'radio', values: ['image', 'artifact'] },
      ],
      supported_triggers: ['manual', 'scheduled'],
      supported_copy_by_chunk: true,
    };
  }

  /** The global label names of a remote Harbor (first 100); UNAVAILABLE when it cannot be read. */
  private async remoteLabels(access: EndpointAccess, name: string): Promise<string[]> {
    const remote = new RemoteEndpoint(access, this.limits);
    try {
      const a = await remote.apiGet('/api/v2.0/labels?scope=g&page=1&page_size=100');
      if (a.status !== 200) throw new Error(`GET /api/v2.0/labels answered ${a.status}`);
      const parsed: unknown = JSON.parse(a.body.toString('utf8'));
      if (!Array.isArray(parsed)) throw new Error('GET /api/v2.0/labels answered no list');
      return parsed.flatMap((l: unknown) => (l !== null && typeof l === 'object' && typeof (l as Obj).name === 'string' ? [String((l as Obj).name)] : [])); // each item checked: an object with a string name
    } catch (err) {
      const reason = describe(err);
      this.deps.logger.warn({ registry: name, url: access.url, reason }, 'registry info failed');
      throw fail('UNAVAILABLE', `the registry ${name} cannot be read: ${reason}`);
    } finally {
      await remote.close();
    }
  }

  /** `GET /replication/adapters`: the served adapter types. */
  adapters(ctx: CallContext): string[] {
    this.admin(ctx);
    return [...adapterTypes];
  }

  /**
   * `GET /replication/adapterinfos`: Harbor fills endpoint and credential patterns only for
   * adapters with fixed endpoints or special keys (docker-hub, cloud registries); the two served
   * here take any URL and a key and secret, so their entries are empty.
   */
  adapterInfos(ctx: CallContext): Record<string, Record<string, never>> {
    this.admin(ctx);
    return Object.fromEntries(adapterTypes.map((t) => [t, {}]));
  }
}
