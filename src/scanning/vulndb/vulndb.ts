/**
 * The built-in scanner's vulnerability database: OSV records imported into Wharf's database
 * (SQLite or PostgreSQL) and matched against an image's inventory.
 *
 * - Import streams records from a folder, a zip or any iterable, in batches of
 *   {@link importBatchSize}, each batch one transaction of multi-row statements. A record replaces
 *   the stored one of its id only when its `modified` is newer; a withdrawn record removes the
 *   advisory's affected packages (so it is never matched) and keeps a tombstone row.
 * - `update` downloads `<source>/<ecosystem>/all.zip` for each ecosystem to a temporary file and
 *   imports it, then records the update time shown in the scanner's metadata.
 * - `match` maps each package to its OSV (ecosystem, name, version) and reads the affected rows
 *   of one ecosystem's packages with one indexed query.
 */
import type { Readable } from 'node:stream';
import { join, resolve } from 'node:path';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { isTransientConflict, vulnStore, type Database, type VulnAdvisoryInput } from '../../db/index.ts';
import type { Inventory, InstalledPackage } from '../analyzer/types.ts';
import type { VulnerabilityItem } from '../adapter/protocol.ts';
import { schemeForEcosystem } from '../versions/index.ts';
import { osEcosystem, osvKeyOf, type OsvKey } from './ecosystems.ts';
import { coverage, finalize, findingsFor, type Finding } from './matcher.ts';
import { parseRecord, type CompactAdvisory, type CompactAffected, type ParsedRecord } from './osv.ts';
import { pathRecords, streamToFile, withTempDir, zipRecords, type SourceItem } from './sources.ts';

/** Records per import transaction. */
export const importBatchSize = 1000;

/** What an import did. */
export interface ImportResult {
  /** Records read (valid or not). */
  records: number;
  /** Advisories inserted or replaced by a newer record (withdrawn ones included). */
  written: number;
  /** Records older than or as old as the stored advisory (nothing changed). */
  unchanged: number;
  /** Withdrawn records written (their advisories no longer match). */
  withdrawn: number;
  /** Records skipped: not JSON, no id, no valid `modified`, too large. */
  invalid: number;
  /** Advisories in the database afterwards (withdrawn ones not counted). */
  advisories: number;
  /** Affected-package rows in the database afterwards. */
  affected: number;
  /** Milliseconds the import took. */
  ms: number;
}

/** Options of an import. */
export interface ImportOptions {
  /** Keep only affected entries of these ecosystems (`Debian` keeps `Debian:12`, ...); default: all. */
  ecosystems?: readonly string[];
  /** What `meta().source` says afterwards (default: the path, or `import`). */
  source?: string;
  signal?: AbortSignal;
}

/** Options of an update. */
export interface UpdateOptions {
  /** The base URL: `<source>/<ecosystem>/all.zip` is fetched for each ecosystem. */
  source: string;
  ecosystems: readonly string[];
  signal?: AbortSignal;
}

/** The database's state, for the scanner's metadata. */
export interface VulnDbMeta {
  /** When the last successful update or import finished (RFC 3339), or null. */
  updatedAt: string | null;
  advisories: number;
  source: string | null;
}

/** What the database needs. */
export interface VulnDbDeps {
  db: Kysely<Database>;
  logger?: Logger;
}

function keepFilter(ecosystems: readonly string[] | undefined): ((ecosystem: string) => boolean) | undefined {
  if (!ecosystems?.length) return undefined;
  const set = new Set(ecosystems);
  return (eco) => set.has(eco) || set.has(eco.split(':')[0] ?? eco);
}

function toInput(r: ParsedRecord): VulnAdvisoryInput {
  return {
    osvId: r.id,
    modified: r.modified,
    withdrawn: r.withdrawn,
    record: JSON.stringify(r.advisory),
    affected: r.affected.map((a) => ({ ecosystem: a.ecosystem, name: a.name, entry: JSON.stringify(a) })),
  };
}

function isSourceItem(v: unknown): v is SourceItem {
  return typeof v === 'object' && v !== null && 'from' in v && ('value' in v || 'error' in v);
}

/** A package to look up, grouped by the version compared (binary packages of one source share it). */
interface Wanted {
  key: OsvKey;
  pkgs: InstalledPackage[];
}

/** OSV records in Wharf's database: import, update, match. */
export class VulnDb {
  private readonly db: Kysely<Database>;
  private readonly logger?: Logger;

  constructor(deps: VulnDbDeps) {
    this.db = deps.db;
    this.logger = deps.logger;
  }

  /** Imports a folder of OSV records (recursively), an OSV zip, or one record file. */
  async importPath(path: string, opts: ImportOptions = {}): Promise<ImportResult> {
    const abs = resolve(path);
    return this.importRecords(pathRecords(abs, opts.signal), { ...opts, source: opts.source ?? abs });
  }

  /** Imports an OSV zip arriving as a stream (written to a temporary file first: a zip is read from its end). */
  async importZipStream(stream: Readable, opts: ImportOptions = {}): Promise<ImportResult> {
    return withTempDir(async (dir) => {
      const file = join(dir, 'all.zip');
      await streamToFile(stream, file, opts.signal);
      return this.importRecords(zipRecords(file, opts.signal), opts);
    });
  }

  /**
   * Imports records: raw OSV JSON values (or a source's items). Invalid ones are counted and
   * logged, not fatal. Sets `updated_at` and `source` at the end.
   */
  async importRecords(records: AsyncIterable<unknown> | Iterable<unknown>, opts: ImportOptions = {}): Promise<ImportResult> {
    const started = Date.now();
    const result = await this.write(records, opts);
    await vulnStore.refreshMeta(this.db, { updatedAt: Date.now(), source: opts.source ?? 'import' });
    return this.finish(result, started);
  }

  /**
   * Downloads and imports `<source>/<ecosystem>/all.zip` for each ecosystem (keeping only that
   * ecosystem's entries). All are tried; when one fails the error names every failure, after the
   * others were imported, and `updated_at` is left as it was.
   */
  async update(opts: UpdateOptions): Promise<ImportResult> {
    const started = Date.now();
    const base = opts.source.replace(/\/+$/, '');
    const total: Omit<ImportResult, 'advisories' | 'affected' | 'ms'> = { records: 0, written: 0, unchanged: 0, withdrawn: 0, invalid: 0 };
    const failures: string[] = [];
    const agent = new Agent({ connect: { timeout: 30_000 } }).compose(interceptors.redirect({ maxRedirections: 5 }));
    try {
      for (const ecosystem of opts.ecosystems) {
        opts.signal?.throwIfAborted();
        const url = `${base}/${encodeURIComponent(ecosystem)}/all.zip`;
        try {
          const r = await withTempDir(async (dir) => {
            const file = join(dir, 'all.zip');
            await this.download(agent, url, file, opts.signal);
            return this.write(zipRecords(file, opts.signal), { ecosystems: [ecosystem], signal: opts.signal });
          });
          this.logger?.info({ ecosystem, url, ...r }, 'vulndb: imported');
          for (const k of ['records', 'written', 'unchanged', 'withdrawn', 'invalid'] as const) total[k] += r[k];
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          const message = err instanceof Error ? err.message : String(err);
          this.logger?.warn({ ecosystem, url, err }, 'vulndb: update of an ecosystem failed');
          failures.push(`${ecosystem}: ${message}`);
        }
      }
    } finally {
      await agent.close();
    }
    if (failures.length) {
      await vulnStore.refreshMeta(this.db);
      throw new Error(`vulnerability database update failed for ${failures.join('; ')}`);
    }
    await vulnStore.refreshMeta(this.db, { updatedAt: Date.now(), source: base });
    return this.finish(total, started);
  }

  /** When and from where the data came, and how many advisories there are. */
  async meta(): Promise<VulnDbMeta> {
    const m = await vulnStore.meta(this.db);
    return { updatedAt: m.updated_at === null ? null : new Date(m.updated_at).toISOString(), advisories: m.advisories, source: m.source };
  }

  /** The findings for an inventory (see docs/scanning.md, "Matching"). */
  async match(inv: Inventory): Promise<VulnerabilityItem[]> {
    const osEco = osEcosystem(inv.os);
    // ecosystem -> name -> version -> the packages with that key
    const wanted = new Map<string, Map<string, Map<string, Wanted>>>();
    for (const pkg of inv.packages) {
      const key = osvKeyOf(pkg, inv.os, osEco);
      if (!key) continue;
      let names = wanted.get(key.ecosystem);
      if (!names) wanted.set(key.ecosystem, (names = new Map()));
      let versions = names.get(key.name);
      if (!versions) names.set(key.name, (versions = new Map()));
      const w = versions.get(key.version);
      if (w) w.pkgs.push(pkg);
      else versions.set(key.version, { key, pkgs: [pkg] });
    }
    const findings: Finding[] = [];
    const advisories = new Map<string, CompactAdvisory>();
    for (const [ecosystem, names] of wanted) {
      const scheme = schemeForEcosystem(ecosystem);
      const rows = await vulnStore.lookup(this.db, ecosystem, [...names.keys()]);
      for (const row of rows) {
        const entry = JSON.parse(row.entry) as CompactAffected; // written by toInput() from a CompactAffected
        const versions = names.get(entry.name);
        if (!versions) continue;
        for (const { key, pkgs } of versions.values()) {
          const hit = coverage(scheme, key.version, entry);
          if (!hit) continue;
          let advisory = advisories.get(row.osv_id);
          if (!advisory) {
            advisory = JSON.parse(row.record) as CompactAdvisory; // written by toInput() from a CompactAdvisory
            advisories.set(row.osv_id, advisory);
          }
          for (const pkg of pkgs) findings.push(...findingsFor(pkg, key, advisory, entry, hit.fix));
        }
      }
    }
    return finalize(findings);
  }

  private async download(agent: Dispatcher, url: string, file: string, signal?: AbortSignal): Promise<void> {
    const res = await request(url, { dispatcher: agent, signal, headersTimeout: 60_000, bodyTimeout: 300_000 });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`GET ${url}: HTTP ${res.statusCode}`);
    }
    await streamToFile(res.body, file, signal);
  }

  private async write(records: AsyncIterable<unknown> | Iterable<unknown>, opts: ImportOptions): Promise<Omit<ImportResult, 'advisories' | 'affected' | 'ms'>> {
    const keep = keepFilter(opts.ecosystems);
    const total = { records: 0, written: 0, unchanged: 0, withdrawn: 0, invalid: 0 };
    let batch = new Map<string, ParsedRecord>();
    const flush = async () => {
      if (!batch.size) return;
      const inputs = [...batch.values()].map(toInput);
      batch = new Map();
      const r = await this.writeBatch(inputs);
      total.written += r.written;
      total.unchanged += r.unchanged;
      total.withdrawn += r.withdrawn;
    };
    for await (const item of records) {
      total.records++;
      let raw: unknown = item;
      let from = '';
      if (isSourceItem(item)) {
        from = item.from;
        if ('error' in item) {
          total.invalid++;
          this.logger?.warn({ from, error: item.error }, 'vulndb: skipped a file');
          continue;
        }
        raw = item.value;
      }
      const rec = parseRecord(raw, keep);
      if (typeof rec === 'string') {
        total.invalid++;
        this.logger?.warn({ from, error: rec }, 'vulndb: skipped a record');
        continue;
      }
      // A record whose every affected entry was filtered out stays out (unless withdrawn: it may remove one).
      if (keep && rec.withdrawn === null && !rec.affected.length) continue;
      const prev = batch.get(rec.id);
      if (prev && prev.modified >= rec.modified) {
        total.unchanged++;
        continue;
      }
      if (prev) total.unchanged++;
      batch.set(rec.id, rec);
      if (batch.size >= importBatchSize) {
        opts.signal?.throwIfAborted();
        await flush();
      }
    }
    await flush();
    return total;
  }

  /** One batch in one transaction; a transaction that lost to a concurrent one (another instance importing) runs again. */
  private async writeBatch(inputs: VulnAdvisoryInput[]) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute((trx) => vulnStore.writeBatch(trx, inputs));
      } catch (err) {
        if (attempt >= 5 || !isTransientConflict(err)) throw err;
      }
    }
  }

  private async finish(r: Omit<ImportResult, 'advisories' | 'affected' | 'ms'>, started: number): Promise<ImportResult> {
    const m = await vulnStore.meta(this.db);
    return { ...r, advisories: m.advisories, affected: m.affected, ms: Date.now() - started };
  }
}
