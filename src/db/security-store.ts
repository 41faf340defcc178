/**
 * The security hub's SQL (Harbor's /security/summary and /security/vul; src/scanning/security-hub.ts
 * is its only caller). Reads only: scan_reports and scan_report_items are written by
 * src/db/scan-report-store.ts alone, and this file never writes any table. Kysely's query builder,
 * so the same code runs on SQLite and PostgreSQL; the one dialect difference is how a report item's
 * CVSS v3 score is read from its `preferred_cvss` JSON text.
 *
 * Like Harbor, everything is computed over one scanner registration (the system default) and joins
 * artifacts with reports by digest: a digest stored in two repositories counts twice, once per
 * artifact row. Of a digest's reports only one counts: its newest Success report of the preferred
 * vulnerability MIME type (the first of `mimeTypes` that has one), so a scanner that produced both
 * report types, or a rescan in progress, never counts a digest twice.
 */
import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { ListSpec, ResolvedFilter } from '../domain/index.ts';
import type { Database } from './schema.ts';
import { isPostgres } from './dialect.ts';
import { filterSql, orderBy } from './listing.ts';

/**
 * The `q` keys of the vulnerability list and where they apply. `tag` has no column: it matches
 * artifacts holding that tag (a sub-select); `cvss_score_v3` is the item's score, read from JSON.
 */
export const vulnerabilityListSpec = {
  cve_id: { type: 'text', column: 'i.cve_id', sortable: false },
  severity: { type: 'text', column: 'i.severity', sortable: false },
  status: { type: 'text', column: 'i.status', sortable: false },
  package: { type: 'text', column: 'i.package', sortable: false },
  cvss_score_v3: { type: 'text', column: 'i.score', sortable: false },
  repository_name: { type: 'text', column: 'r.name', sortable: false },
  project_id: { type: 'int', column: 'r.project_id', sortable: false },
  digest: { type: 'text', column: 'a.digest', sortable: false },
  tag: { type: 'text', sortable: false },
} as const satisfies ListSpec;

/** Totals over the counted reports of every artifact. */
export interface SecurityCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  none: number;
  unknown: number;
  fixable: number;
  /** Artifact rows with a counted report. */
  scanned: number;
  /** Every artifact row. */
  artifacts: number;
}

/** An artifact with its counted report's counts. */
export interface DangerousArtifactRow {
  project_id: number;
  repository_name: string;
  digest: string;
  critical: number;
  high: number;
  medium: number;
  low: number;
}

/** One (CVE, package, version) found by counted reports. */
export interface DangerousCveRow {
  cve_id: string;
  package: string;
  version: string;
  score: number;
  /** Harbor's order of severities: Critical 5, High 4, Medium 3, Low 2, None 1, anything else 0. */
  level: number;
  description: string;
}

/** One vulnerability of one artifact. */
export interface VulnerabilityRow {
  artifact_id: number;
  project_id: number;
  repository_name: string;
  digest: string;
  cve_id: string;
  severity: string;
  status: string;
  score: number | null;
  package: string;
  version: string;
  fix_version: string;
  description: string;
  /** JSON array text. */
  links: string;
}

/** A page of the vulnerability list; `total` is -1 when a capped count passed its cap. */
export interface VulnerabilityPage {
  items: VulnerabilityRow[];
  total: number;
}

/** Which reports count: the registration and the vulnerability MIME types, preferred first. */
export interface ReportScope {
  registrationUuid: string;
  /** Non-empty; the first type is preferred: a digest's report of another type counts only when it has none of the first. */
  mimeTypes: readonly [string, ...string[]];
}

/** The tag name of a `tag=v` filter; '' (no tag has that name) for any other form, which the service never passes. */
function tagName(f: ResolvedFilter): string {
  return f.condition.kind === 'exact' ? String(f.condition.value) : '';
}

/** The security hub's read-only queries. */
export class SecurityStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The system default scanner registration's uuid, if there is one. */
  async defaultRegistration(): Promise<string | undefined> {
    const row = await this.db.selectFrom('scanners').select('uuid').where('is_default', '=', 1).executeTakeFirst();
    return row?.uuid;
  }

  /** How many artifact rows there are (Harbor's total_artifact: every artifact, scanned or not). */
  async artifactCount(): Promise<number> {
    const r = await this.db.selectFrom('artifacts').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Sums of the counted reports' counts over every artifact row, and how many rows have one. */
  async counts(scope: ReportScope): Promise<SecurityCounts> {
    const r = await this.db
      .selectFrom('artifacts as a')
      .innerJoin(this.countedReports(scope).as('s'), 's.digest', 'a.digest')
      .select([
        sql<number>`coalesce(sum(s.critical_cnt), 0)`.as('critical'),
        sql<number>`coalesce(sum(s.high_cnt), 0)`.as('high'),
        sql<number>`coalesce(sum(s.medium_cnt), 0)`.as('medium'),
        sql<number>`coalesce(sum(s.low_cnt), 0)`.as('low'),
        sql<number>`coalesce(sum(s.none_cnt), 0)`.as('none'),
        sql<number>`coalesce(sum(s.unknown_cnt), 0)`.as('unknown'),
        sql<number>`coalesce(sum(s.fixable_cnt), 0)`.as('fixable'),
        sql<number>`count(*)`.as('scanned'),
      ])
      .executeTakeFirstOrThrow();
    return {
      critical: Number(r.critical),
      high: Number(r.high),
      medium: Number(r.medium),
      low: Number(r.low),
      none: Number(r.none),
      unknown: Number(r.unknown),
      fixable: Number(r.fixable),
      scanned: Number(r.scanned),
      artifacts: await this.artifactCount(),
    };
  }

  /**
   * The `limit` artifact rows whose counted reports have the most Critical, then High, Medium and
   * Low findings (rows with none of the four are left out); ties by artifact id.
   */
  async dangerousArtifacts(scope: ReportScope, limit: number): Promise<DangerousArtifactRow[]> {
    const rows = await this.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .innerJoin(this.countedReports(scope).as('s'), 's.digest', 'a.digest')
      .select(['r.project_id as project_id', 'r.name as repository_name', 'a.digest as digest', 's.critical_cnt as critical', 's.high_cnt as high', 's.medium_cnt as medium', 's.low_cnt as low'])
      .where(sql<SqlBool>`s.critical_cnt + s.high_cnt + s.medium_cnt + s.low_cnt > 0`)
      .orderBy('s.critical_cnt', 'desc')
      .orderBy('s.high_cnt', 'desc')
      .orderBy('s.medium_cnt', 'desc')
      .orderBy('s.low_cnt', 'desc')
      .orderBy('a.id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, project_id: Number(r.project_id), critical: Number(r.critical), high: Number(r.high), medium: Number(r.medium), low: Number(r.low) }));
  }

  /**
   * The `limit` (CVE, package, version) findings of counted reports of stored artifacts that have
   * a CVSS v3 score, by score, then severity (Harbor's order), then CVE id, package and version.
   */
  async dangerousCves(scope: ReportScope, limit: number): Promise<DangerousCveRow[]> {
    const rows = await this.db
      .selectFrom(this.items().as('i'))
      .innerJoin(this.countedReports(scope).as('s'), 's.id', 'i.report_id')
      .where((eb) => eb.exists(eb.selectFrom('artifacts as a').select('a.id').whereRef('a.digest', '=', 's.digest')))
      .where('i.score', 'is not', null)
      .groupBy(['i.cve_id', 'i.package', 'i.version'])
      .select((eb) => [
        'i.cve_id as cve_id',
        'i.package as package',
        'i.version as version',
        eb.fn.max('i.score').as('score'),
        eb.fn.max('i.level').as('level'),
        eb.fn.max('i.description').as('description'),
      ])
      .orderBy('score', 'desc')
      .orderBy('level', 'desc')
      .orderBy('i.cve_id')
      .orderBy('i.package')
      .orderBy('i.version')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ cve_id: r.cve_id, package: r.package, version: r.version, score: Number(r.score), level: Number(r.level), description: String(r.description ?? '') }));
  }

  /**
   * One page of the findings of counted reports, one row per (artifact row, item), filtered by
   * `filters` (keys of vulnerabilityListSpec, already checked), by score (highest first, unscored
   * last), then artifact and item id. With `capCount`, a total beyond `capCount` rows is -1 and
   * is not counted (Harbor's tune_count).
   */
  async vulnerabilities(scope: ReportScope, filters: readonly ResolvedFilter[], page: number, pageSize: number, capCount?: number): Promise<VulnerabilityPage> {
    let q = this.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .innerJoin(this.countedReports(scope).as('s'), 's.digest', 'a.digest')
      .innerJoin(this.items().as('i'), 'i.report_id', 's.id')
      .select([
        'a.id as artifact_id',
        'r.project_id as project_id',
        'r.name as repository_name',
        'a.digest as digest',
        'i.cve_id as cve_id',
        'i.severity as severity',
        'i.status as status',
        'i.score as score',
        'i.package as package',
        'i.version as version',
        'i.fix_version as fix_version',
        'i.description as description',
        'i.links as links',
        'i.id as item_id',
      ]);
    for (const w of filterSql(filters)) q = q.where(w);
    for (const f of filters) if (f.key === 'tag') q = q.where('a.id', 'in', this.db.selectFrom('tags').select('artifact_id').where('name', '=', tagName(f)));
    let total: number | undefined;
    if (capCount !== undefined) {
      const beyond = await q.clearSelect().select(sql<number>`1`.as('x')).limit(1).offset(capCount).executeTakeFirst();
      if (beyond) total = -1;
    }
    if (total === undefined) {
      const counted = await q.clearSelect().select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
      total = Number(counted.n);
    }
    const rows = await orderBy(q, [
      { column: 'i.score', desc: true },
      { column: 'a.id', desc: false },
      { column: 'i.id', desc: false },
    ])
      .limit(pageSize)
      .offset((page - 1) * pageSize)
      .execute();
    const items = rows.map(({ item_id: _, ...r }) => ({ ...r, artifact_id: Number(r.artifact_id), project_id: Number(r.project_id), score: r.score === null ? null : Number(r.score) }));
    return { items, total };
  }

  /** The first `perArtifact` tags of each artifact, in the order they were created. */
  async tagsOf(artifactIds: readonly number[], perArtifact: number): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    if (!artifactIds.length) return out;
    const rows = await this.db.selectFrom('tags').select(['artifact_id', 'name']).where('artifact_id', 'in', [...new Set(artifactIds)]).orderBy('artifact_id').orderBy('id').execute();
    for (const r of rows) {
      const id = Number(r.artifact_id);
      const list = out.get(id) ?? [];
      if (list.length < perArtifact) list.push(r.name);
      out.set(id, list);
    }
    return out;
  }

  /** Each digest's counted report: its newest Success report of the first MIME type of `scope` that has one. */
  private countedReports(scope: ReportScope) {
    const [preferred] = scope.mimeTypes;
    return this.db
      .selectFrom('scan_reports as c')
      .select(['c.id', 'c.digest', 'c.critical_cnt', 'c.high_cnt', 'c.medium_cnt', 'c.low_cnt', 'c.none_cnt', 'c.unknown_cnt', 'c.fixable_cnt'])
      .where('c.registration_uuid', '=', scope.registrationUuid)
      .where('c.status', '=', 'Success')
      .where('c.mime_type', 'in', [...scope.mimeTypes])
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('scan_reports as o')
              .select('o.id')
              .whereRef('o.digest', '=', 'c.digest')
              .where('o.registration_uuid', '=', scope.registrationUuid)
              .where('o.status', '=', 'Success')
              .where('o.mime_type', 'in', [...scope.mimeTypes])
              .where((o) =>
                o.or([
                  // A newer Success report of the same type, or one of the preferred type when this one is not.
                  o.and([o('o.mime_type', '=', o.ref('c.mime_type')), o('o.id', '>', o.ref('c.id'))]),
                  o.and([o('o.mime_type', '=', preferred), o('c.mime_type', '!=', preferred)]),
                ]),
              ),
          ),
        ),
      );
  }

  /** Report items with their CVSS v3 score (null when the report gave none) and severity level. */
  private items() {
    return this.db
      .selectFrom('scan_report_items as it')
      .select([
        'it.id',
        'it.report_id',
        'it.cve_id',
        'it.package',
        'it.version',
        'it.fix_version',
        'it.severity',
        'it.status',
        'it.description',
        'it.links',
        this.scoreV3().as('score'),
        sql<number>`case it.severity when 'Critical' then 5 when 'High' then 4 when 'Medium' then 3 when 'Low' then 2 when 'None' then 1 else 0 end`.as('level'),
      ]);
  }

  /** `preferred_cvss.score_v3` of an item as a number, or null. */
  private scoreV3(): RawBuilder<number | null> {
    const col = sql.ref('it.preferred_cvss');
    return isPostgres(this.db)
      ? sql<number | null>`cast(cast(${col} as jsonb) ->> 'score_v3' as double precision)`
      : sql<number | null>`json_extract(${col}, '$.score_v3')`;
  }
}
