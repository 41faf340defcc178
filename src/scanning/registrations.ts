/**
 * Scanner registrations (Harbor's /scanners) and the project scanner (/projects/{p}/scanner):
 * the service behind both route sets, the built-in registration, and what scans need to know
 * (which registration scans a project's artifacts, and how to reach it).
 *
 * Harbor's behaviour kept: registrations are the system admin's; a create pings the adapter first
 * and the first registration becomes the default; `Trivy` (and Wharf's own `Wharf`) are reserved
 * names; name and URL are unique (409); the immutable built-in cannot be updated or deleted (403);
 * the default cannot be disabled; an update with an empty credential keeps the stored one; a
 * delete returns what it deleted and its projects fall back to the default; metadata is cached
 * 30 s per registration, failures included. A project's scanner is read with the project's
 * `read-settings` permission (every role; Harbor's scanner:read) and set, or its candidates
 * listed, with `manage` (project admin; Harbor's scanner:create).
 *
 * The built-in registration `Wharf` is created at start when `scanning.builtin` is on (ON
 * CONFLICT DO NOTHING: instances starting together on one PostgreSQL create it once) and becomes
 * the default when there is none. Its URL is shown as `<external_url>/scanner`; it is called at
 * the server's own listening address (`selfUrl()`), known only once the server listens.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Actor, Authorizer } from '../auth/index.ts';
import { fail, type ListQuery, type Page } from '../domain/index.ts';
import {
  builtinDefaultIfNone,
  defaultScanner,
  deleteScanner,
  insertScanner,
  insertScannerIfAbsent,
  isUniqueViolation,
  listScanners,
  pinScanner,
  pinnedScanner,
  recordScannerHealth,
  scannerByUuid,
  scannerProject,
  setDefaultScanner,
  takenBy,
  updateScanner,
  type Database,
  type ScannerProject,
  type ScannerRow,
} from '../db/index.ts';
import { capabilitiesOf, DOCKER_MANIFEST, OCI_MANIFEST, validateMetadata, type AdapterAuth, type AdapterEndpoint, type ScannerAdapterMetadata } from './adapter/index.ts';
import type { MetadataSource } from './metadata-source.ts';
import {
  builtinScannerName,
  checkReservedName,
  parseIsDefault,
  parsePingSettings,
  parseProjectScanner,
  parseRegistration,
  registrationView,
  withLegacyFilters,
  type LegacyScannerFilters,
  type ScannerRegistrationView,
} from './registration-spec.ts';

/** A registration as stored (what scans get from {@link ScannerRegistrations.resolveForProject}). */
export type ScannerRegistrationRecord = ScannerRow;

/** What a call needs to know about its caller (the API's CallContext is one). */
export interface ScanCallContext {
  actor: Actor;
}

/** A project as a path names it: Harbor's `project_name_or_id` and `X-Is-Resource-Name`. */
export interface ScanProjectKey {
  nameOrId: string;
  isName: boolean;
}

/** What the registration service needs. */
export interface ScannerRegistrationsDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** The adapter client (its `metadata` call). */
  adapters: MetadataSource;
  /** The server's own base URL once it listens (`http://127.0.0.1:PORT`): where the built-in scanner is called. */
  selfUrl: () => string;
  /** `external_url`: where the built-in scanner is shown. */
  externalUrl: () => string;
  /** Milliseconds since the epoch (tests pass their own clock). */
  now?: () => number;
  /** How long a metadata answer (or failure) is kept; Harbor's 30 s by default. */
  metadataCacheMs?: number;
}

/** A cached metadata fetch: the metadata, or the error message. */
type CachedMetadata = { at: number; md: ScannerAdapterMetadata; error?: undefined } | { at: number; md?: undefined; error: string };

/** Registrations kept in the metadata cache at most (each entry is one small object). */
const maxCached = 1000;

function isBuiltin(r: ScannerRow): boolean {
  return r.immutable === 1 && r.name === builtinScannerName;
}

function authOf(s: string): AdapterAuth {
  return s === 'Basic' || s === 'Bearer' || s === 'APIKey' ? s : '';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Scanner registrations, the project scanner, and the registration a scan uses. */
export class ScannerRegistrations {
  private readonly now: () => number;
  private readonly cacheMs: number;
  private readonly cache = new Map<string, CachedMetadata>();
  private readonly inflight = new Map<string, Promise<ScannerAdapterMetadata>>();

  constructor(private readonly deps: ScannerRegistrationsDeps) {
    this.now = deps.now ?? Date.now;
    this.cacheMs = deps.metadataCacheMs ?? 30_000;
  }

  // ---- Harbor's /scanners (system admin) ----

  /** GET /scanners: Harbor's q, sort and paging, plus the legacy `name`/`description`/`url` (substring) and `ex_name`/`ex_url` (exact). */
  async list(ctx: ScanCallContext, list: ListQuery, legacy: LegacyScannerFilters = {}): Promise<Page<ScannerRegistrationView>> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const page = await listScanners(this.deps.db, withLegacyFilters(list, legacy));
    return { items: page.items.map((r) => this.view(r)), total: page.total };
  }

  /** POST /scanners: pings the adapter, then stores the registration (the first one is the default). Returns its uuid. */
  async create(ctx: ScanCallContext, body: unknown): Promise<string> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const input = parseRegistration(body, { update: false });
    checkReservedName(input.name);
    const endpoint: AdapterEndpoint = { url: input.url, auth: input.auth, accessCredential: input.accessCredential ?? '', skipCertVerify: input.skipCertVerify };
    const md = await this.ping(endpoint);
    await this.refuseTaken(input.name, input.url);
    const now = this.now();
    const row = {
      uuid: randomUUID(),
      name: input.name,
      description: input.description,
      url: input.url,
      auth: input.auth,
      access_credential: input.accessCredential ?? '',
      skip_cert_verify: input.skipCertVerify ? 1 : 0,
      use_internal_addr: input.useInternalAddr ? 1 : 0,
      disabled: input.disabled ? 1 : 0,
      is_default: 0,
      immutable: 0,
      adapter: md.scanner.name,
      vendor: md.scanner.vendor,
      version: md.scanner.version,
      health: 'healthy',
      capabilities: JSON.stringify(capabilitiesOf(md)),
      creation_time: now,
      update_time: now,
    };
    // A unique violation is a name or URL taken meanwhile (409), or, on PostgreSQL, another first
    // registration that became the default at the same moment: then this one is inserted as not default.
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await insertScanner(this.deps.db, row);
        return created.uuid;
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= 2) throw err;
        await this.refuseTaken(input.name, input.url);
      }
    }
  }

  /** GET /scanners/{uuid}: refreshes the health from the (cached) metadata, as Harbor does. */
  async get(ctx: ScanCallContext, uuid: string): Promise<ScannerRegistrationView> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const r = await this.found(uuid);
    await this.fetchMetadata(r).catch(() => undefined);
    return this.view((await scannerByUuid(this.deps.db, uuid)) ?? r);
  }

  /** PUT /scanners/{uuid}: replaces the settings; an empty credential keeps the stored one. */
  async update(ctx: ScanCallContext, uuid: string, body: unknown): Promise<void> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const r = await this.found(uuid);
    if (r.immutable === 1) throw fail('FORBIDDEN', `registration ${r.name} is not allowed to update as it is immutable: scanner API: update`);
    const input = parseRegistration(body, { update: true, storedCredential: r.access_credential });
    if (r.is_default === 1 && input.disabled) throw fail('BAD_REQUEST', `default registration ${r.uuid} can not be marked to deactivated`);
    checkReservedName(input.name);
    await this.refuseTaken(input.name, input.url, r.uuid);
    const change = {
      name: input.name,
      description: input.description,
      url: input.url,
      auth: input.auth,
      access_credential: input.accessCredential ?? r.access_credential,
      skip_cert_verify: input.skipCertVerify ? 1 : 0,
      use_internal_addr: input.useInternalAddr ? 1 : 0,
      disabled: input.disabled ? 1 : 0,
    };
    try {
      if (!(await updateScanner(this.deps.db, uuid, change, this.now()))) throw fail('NOT_FOUND', `scanner ${uuid} not found`);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      await this.refuseTaken(input.name, input.url, r.uuid);
      throw err;
    }
  }

  /** DELETE /scanners/{uuid}: the deleted registration; projects pinned to it fall back to the default. */
  async remove(ctx: ScanCallContext, uuid: string): Promise<ScannerRegistrationView> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const r = await this.found(uuid);
    if (r.immutable === 1) throw fail('FORBIDDEN', `registration ${r.name} is not allowed to delete as it is immutable: scanner API: delete`);
    const gone = await deleteScanner(this.deps.db, uuid);
    if (!gone) throw fail('NOT_FOUND', `scanner ${uuid} not found`);
    this.forget(uuid);
    return this.view(gone);
  }

  /** POST /scanners/ping: fetches and validates the metadata of the settings given (nothing stored). */
  async pingSettings(ctx: ScanCallContext, body: unknown): Promise<void> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const s = parsePingSettings(body);
    await this.ping({ url: s.url, auth: s.auth, accessCredential: s.accessCredential, skipCertVerify: false });
  }

  /** GET /scanners/{uuid}/metadata: the adapter's metadata (cached 30 s, failures too). */
  async metadata(ctx: ScanCallContext, uuid: string): Promise<ScannerAdapterMetadata> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const r = await this.found(uuid);
    try {
      return await this.fetchMetadata(r);
    } catch (err) {
      throw fail('UNAVAILABLE', `scanner controller: get metadata: ${message(err)}`);
    }
  }

  /** PATCH /scanners/{uuid} `{"is_default": true}`: makes it the system default (`false` changes nothing). */
  async setDefault(ctx: ScanCallContext, uuid: string, body: unknown): Promise<void> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const wanted = parseIsDefault(body);
    const r = await this.found(uuid);
    if (!wanted || r.is_default === 1) return;
    if (r.disabled === 1) throw fail('BAD_REQUEST', `registration ${r.name} is deactivated and cannot be the default: enable it first`);
    // Two instances setting different defaults at once: the partial unique index refuses the
    // loser's write, which then runs again against the committed state.
    for (let attempt = 0; ; attempt++) {
      try {
        if (!(await setDefaultScanner(this.deps.db, uuid, this.now()))) throw fail('NOT_FOUND', `scanner ${uuid} not found`);
        return;
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= 4) throw err;
      }
    }
  }

  // ---- The project scanner ----

  /** GET /projects/{p}/scanner: the pinned registration, else the default; null when there is none. */
  async projectScanner(ctx: ScanCallContext, key: ScanProjectKey): Promise<ScannerRegistrationView | null> {
    const p = await this.project(ctx, key, 'read-settings');
    const r = (await pinnedScanner(this.deps.db, p.id)) ?? (await defaultScanner(this.deps.db));
    if (!r) return null;
    await this.fetchMetadata(r).catch(() => undefined);
    return this.view((await scannerByUuid(this.deps.db, r.uuid)) ?? r);
  }

  /** PUT /projects/{p}/scanner `{"uuid"}`: pins a registration to the project. */
  async setProjectScanner(ctx: ScanCallContext, key: ScanProjectKey, body: unknown): Promise<void> {
    const p = await this.project(ctx, key, 'manage');
    const uuid = parseProjectScanner(body);
    const r = await this.found(uuid);
    try {
      await pinScanner(this.deps.db, p.id, r.id, this.now());
    } catch (err) {
      // The registration (or the project) was deleted between the read and the write.
      if (err instanceof Error && (/FOREIGN KEY constraint failed/i.test(err.message) || ('code' in err && err.code === '23503'))) throw fail('NOT_FOUND', `scanner ${uuid} not found`);
      throw err;
    }
  }

  /** GET /projects/{p}/scanner/candidates: every registration, with Harbor's q, sort and paging. */
  async candidates(ctx: ScanCallContext, key: ScanProjectKey, list: ListQuery): Promise<Page<ScannerRegistrationView>> {
    await this.project(ctx, key, 'manage');
    const page = await listScanners(this.deps.db, list);
    return { items: page.items.map((r) => this.view(r)), total: page.total };
  }

  // ---- For scans (no permission check: the caller has done its own) ----

  /**
   * The registration that scans a project's artifacts: the pinned one while it is enabled, else
   * the system default; null when there is none. Use {@link requireForProject} to refuse a scan
   * with Harbor's messages instead.
   */
  async resolveForProject(projectId: number): Promise<ScannerRegistrationRecord | null> {
    const pinned = await pinnedScanner(this.deps.db, projectId);
    if (pinned && pinned.disabled === 0) return pinned;
    const d = await defaultScanner(this.deps.db);
    return d && d.disabled === 0 ? d : null;
  }

  /**
   * Harbor's choice for a scan: the pinned registration, else the default. Throws
   * PRECONDITION_FAILED `no available scanner for project: <id>` when there is none and
   * `scanner <name> is deactivated` when the chosen one is disabled (a pinned one can be).
   */
  /**
   * The manifest media types the project's scanner consumes (the pull gate's "scannable"): from its
   * cached metadata; none without a scanner; OCI and Docker v2 images when the metadata cannot be
   * read, so an unreachable scanner never opens the gate.
   */
  async consumes(projectId: number): Promise<Set<string>> {
    const r = await this.resolveForProject(projectId);
    if (!r) return new Set();
    try {
      const md = await this.fetchMetadata(r);
      return new Set(md.capabilities.flatMap((c) => c.consumes_mime_types));
    } catch {
      return new Set([OCI_MANIFEST, DOCKER_MANIFEST]);
    }
  }

  async requireForProject(projectId: number): Promise<ScannerRegistrationRecord> {
    const r = (await pinnedScanner(this.deps.db, projectId)) ?? (await defaultScanner(this.deps.db));
    if (!r) throw fail('PRECONDITION_FAILED', noScannerMessage(projectId));
    if (r.disabled === 1) throw fail('PRECONDITION_FAILED', deactivatedMessage(r.name));
    return r;
  }

  /** The registration with this uuid, or null (reports name theirs). */
  async byUuid(uuid: string): Promise<ScannerRegistrationRecord | null> {
    return (await scannerByUuid(this.deps.db, uuid)) ?? null;
  }

  /** How to reach a registration's adapter now: the built-in one at the server's own address. */
  endpointOf(r: ScannerRegistrationRecord): AdapterEndpoint {
    if (isBuiltin(r)) return { url: `${this.deps.selfUrl().replace(/(?<!\/)\/+$/, '')}/scanner`, auth: '', accessCredential: '', skipCertVerify: false };
    return { url: r.url, auth: authOf(r.auth), accessCredential: r.access_credential, skipCertVerify: r.skip_cert_verify === 1 };
  }

  /**
   * A registration's validated metadata, cached 30 s per registration (a failure too, as Harbor);
   * a fresh fetch records adapter, vendor, version, health and capabilities on the row.
   */
  async fetchMetadata(r: ScannerRegistrationRecord): Promise<ScannerAdapterMetadata> {
    const key = `${r.uuid}|${r.update_time}`;
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.cacheMs) {
      if (hit.md) return hit.md;
      throw new Error(hit.error);
    }
    // Callers that miss at the same moment (a scan all starting) share one fetch.
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fetchFresh(r, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async fetchFresh(r: ScannerRegistrationRecord, key: string): Promise<ScannerAdapterMetadata> {
    const now = this.now();
    this.forget(r.uuid);
    if (this.cache.size >= maxCached) this.cache.clear();
    try {
      const md = await this.ping(this.endpointOf(r), (m) => new Error(m));
      this.cache.set(key, { at: now, md });
      await recordScannerHealth(this.deps.db, r.uuid, { adapter: md.scanner.name, vendor: md.scanner.vendor, version: md.scanner.version, health: 'healthy', capabilities: JSON.stringify(capabilitiesOf(md)) });
      return md;
    } catch (err) {
      this.cache.set(key, { at: now, error: message(err) });
      await recordScannerHealth(this.deps.db, r.uuid, { adapter: r.adapter, vendor: r.vendor, version: r.version, health: 'unhealthy', capabilities: r.capabilities });
      throw err;
    }
  }

  /** First start with `scanning.builtin`: the immutable `Wharf` registration, default when there is none. Idempotent and race-free. */
  async ensureBuiltin(): Promise<void> {
    const now = this.now();
    await insertScannerIfAbsent(this.deps.db, {
      uuid: randomUUID(),
      name: builtinScannerName,
      description: 'Wharf’s built-in scanner: SBOMs and vulnerabilities matched against its own OSV database',
      url: this.builtinUrl(),
      auth: '',
      access_credential: '',
      skip_cert_verify: 0,
      use_internal_addr: 1,
      disabled: 0,
      is_default: 0,
      immutable: 1,
      adapter: '',
      vendor: '',
      version: '',
      health: '',
      capabilities: null,
      creation_time: now,
      update_time: now,
    });
    await builtinDefaultIfNone(this.deps.db, builtinScannerName);
  }

  // ---- helpers ----

  private builtinUrl(): string {
    return `${this.deps.externalUrl().replace(/(?<!\/)\/+$/, '')}/scanner`;
  }

  private view(r: ScannerRow): ScannerRegistrationView {
    return registrationView(r, isBuiltin(r) ? this.builtinUrl() : r.url);
  }

  private forget(uuid: string): void {
    for (const k of this.cache.keys()) if (k.startsWith(`${uuid}|`)) this.cache.delete(k);
  }

  private async found(uuid: string): Promise<ScannerRow> {
    const r = await scannerByUuid(this.deps.db, uuid);
    if (!r) throw fail('NOT_FOUND', `scanner ${uuid} not found`);
    return r;
  }

  /** Fetches and validates metadata; a failure is BAD_REQUEST (or what `wrap` makes of the message). */
  private async ping(e: AdapterEndpoint, wrap: (m: string) => Error = (m) => fail('BAD_REQUEST', m)): Promise<ScannerAdapterMetadata> {
    let md: ScannerAdapterMetadata;
    try {
      md = await this.deps.adapters.metadata(e);
    } catch (err) {
      throw wrap(`scanner controller: ping: ${message(err)}`);
    }
    const invalid = validateMetadata(md);
    if (invalid) throw wrap(`scanner controller: ping: ${invalid}`);
    return md;
  }

  private async refuseTaken(name: string, url: string, exceptUuid = ''): Promise<void> {
    const t = await takenBy(this.deps.db, name, url, exceptUuid);
    if (t.name) throw fail('CONFLICT', `a scanner registration named "${name}" already exists`);
    if (t.url) throw fail('CONFLICT', `a scanner registration with the URL "${url}" already exists`);
  }

  private async project(ctx: ScanCallContext, key: ScanProjectKey, action: 'read-settings' | 'manage'): Promise<ScannerProject> {
    const byId = !key.isName && /^[0-9]+$/.test(key.nameOrId);
    if (byId && !Number.isSafeInteger(Number(key.nameOrId))) throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
    const p = await scannerProject(this.deps.db, key.nameOrId, !byId);
    if (!p) throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
    this.deps.authorizer.check(ctx.actor, action, { name: p.name, public: p.public === 1 });
    return p;
  }
}

/** Harbor's 412 message when a project has no scanner (no pin, no default). */
export function noScannerMessage(projectId: number): string {
  return `no available scanner for project: ${projectId}`;
}

/** Harbor's 412 message when the project's scanner is disabled. */
export function deactivatedMessage(name: string): string {
  return `scanner ${name} is deactivated`;
}
