/**
 * Harbor's security hub (docs/scanning.md, "Security hub"): `GET /security/summary` and
 * `GET /security/vul`, system-wide views over the stored vulnerability reports, for the system
 * admin only (Harbor's system-level `security-hub` resource: read for the summary, list for the
 * vulnerabilities). Everything is computed over the default scanner registration's reports, one
 * report per digest (the newest Success report, version 1.1 preferred over Harbor's 1.0 type), and
 * over artifact rows, so a digest stored in two repositories counts twice (src/db/security-store.ts).
 * No default scanner: an all-zero summary and an empty list, as in Harbor.
 *
 * `q` of the vulnerability list follows Harbor's stricter rules for this list: a key it does not
 * know is a 400 (`keyword: k is not allowed`), `cvss_score_v3` takes only a range and every other
 * key only an exact value (`keyword: k, the query type is not allowed`).
 */
import type { Kysely } from 'kysely';
import type { Authorizer } from '../auth/index.ts';
import { fail, parseQuery, typeCondition, type ListField, type Page, type ResolvedFilter, type TypedCondition } from '../domain/index.ts';
import { SecurityStore, vulnerabilityListSpec, type Database, type ReportScope } from '../db/index.ts';
import { VULN_REPORT_MIME_1_1, VULN_REPORT_MIME_HARBOR } from './adapter/index.ts';
import type { ScanCallContext } from './registrations.ts';

/** How many dangerous CVEs and artifacts the summary lists. */
export const dangerousTop = 5;
/** With `tune_count`, a total beyond this many findings is reported as -1. */
export const tunedCountLimit = 1000;
/** Tags shown per finding with `with_tag`. */
export const tagsPerFinding = 10;

/** Harbor's SecuritySummary. */
export interface SecuritySummaryView {
  critical_cnt: number;
  high_cnt: number;
  medium_cnt: number;
  low_cnt: number;
  none_cnt: number;
  unknown_cnt: number;
  total_vuls: number;
  scanned_cnt: number;
  total_artifact: number;
  fixable_cnt: number;
  /** With `with_dangerous_cve`, when there is any. */
  dangerous_cves?: DangerousCveView[];
  /** With `with_dangerous_artifact`, when there is any. */
  dangerous_artifacts?: DangerousArtifactView[];
}

/** Harbor's DangerousCVE. */
export interface DangerousCveView {
  cve_id: string;
  severity: string;
  cvss_score_v3: number;
  desc: string;
  package: string;
  version: string;
}

/** Harbor's DangerousArtifact. */
export interface DangerousArtifactView {
  project_id: number;
  repository_name: string;
  digest: string;
  critical_cnt: number;
  high_cnt: number;
  medium_cnt: number;
}

/** Harbor's VulnerabilityItem. */
export interface VulnerabilityItemView {
  project_id: number;
  repository_name: string;
  digest: string;
  /** With `with_tag`: the artifact's first ten tags. */
  tags?: string[];
  cve_id: string;
  severity: string;
  status: string;
  /** Absent when the report gave no CVSS v3 score (Harbor leaves a zero score out). */
  cvss_v3_score?: number;
  package: string;
  version: string;
  fixed_version: string;
  desc: string;
  links: string[];
}

/** A vulnerability list request, its paging already read. */
export interface VulnerabilityListRequest {
  /** Harbor's `q`, as sent. */
  q: string;
  page: number;
  pageSize: number;
  /** Harbor's tune_count: a total beyond 1000 is -1. */
  tuneCount: boolean;
  withTag: boolean;
}

/** What the security hub needs. */
export interface SecurityHubDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
}

const fieldsByKey: ReadonlyMap<string, ListField> = new Map(Object.entries(vulnerabilityListSpec));

/** Harbor's severity words by the levels security-store orders by. */
const severityOfLevel = ['Unknown', 'None', 'Low', 'Medium', 'High', 'Critical'] as const;

/** A decimal number as a CVSS score may be written (`7`, `7.5`, `-1`); linear in the input. */
const decimal = /^[+-]?\d{1,16}(\.\d{1,16})?$/;

function score(key: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (!decimal.test(t)) throw fail('BAD_REQUEST', `q: ${key} must be a number, not "${t.slice(0, 64)}"`);
  return Number(t);
}

/**
 * The filters of a vulnerability list's `q`, checked by Harbor's rules for this list: known keys
 * only, `cvss_score_v3` as a range of numbers (an open end is open), the others exact (`project_id`
 * an integer). BAD_REQUEST with Harbor's messages otherwise; a malformed `q` is the parser's 400.
 */
export function vulnerabilityFilters(q: string): ResolvedFilter[] {
  const out: ResolvedFilter[] = [];
  for (const [key, c] of parseQuery(q)) {
    const field = fieldsByKey.get(key);
    if (field === undefined) throw fail('BAD_REQUEST', `keyword: ${key} is not allowed`);
    let condition: TypedCondition;
    if (key === 'cvss_score_v3') {
      if (c.kind !== 'range') throw fail('BAD_REQUEST', `keyword: ${key}, the query type is not allowed`);
      const min = score(key, c.min);
      const max = score(key, c.max);
      condition = { kind: 'range', ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
    } else {
      if (c.kind !== 'exact') throw fail('BAD_REQUEST', `keyword: ${key}, the query type is not allowed`);
      condition = typeCondition(key, field.type, c);
    }
    out.push({ key, field, condition });
  }
  return out;
}

/** A report item's links (JSON array text) as strings. */
function linksOf(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** The security summary and the system-wide vulnerability list. */
export class SecurityHub {
  private readonly store: SecurityStore;

  constructor(private readonly deps: SecurityHubDeps) {
    this.store = new SecurityStore(deps.db);
  }

  /** The reports that count, or undefined when there is no default scanner. */
  private async scope(): Promise<ReportScope | undefined> {
    const uuid = await this.store.defaultRegistration();
    return uuid === undefined ? undefined : { registrationUuid: uuid, mimeTypes: [VULN_REPORT_MIME_1_1, VULN_REPORT_MIME_HARBOR] };
  }

  /** `GET /security/summary`: counts by severity, scanned and total artifacts, optionally the top-5 lists. */
  async summary(ctx: ScanCallContext, opts: { withDangerousCve: boolean; withDangerousArtifact: boolean }): Promise<SecuritySummaryView> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const scope = await this.scope();
    const view: SecuritySummaryView = { critical_cnt: 0, high_cnt: 0, medium_cnt: 0, low_cnt: 0, none_cnt: 0, unknown_cnt: 0, total_vuls: 0, scanned_cnt: 0, total_artifact: 0, fixable_cnt: 0 };
    if (!scope) return view;
    const c = await this.store.counts(scope);
    Object.assign(view, {
      critical_cnt: c.critical,
      high_cnt: c.high,
      medium_cnt: c.medium,
      low_cnt: c.low,
      none_cnt: c.none,
      unknown_cnt: c.unknown,
      total_vuls: c.critical + c.high + c.medium + c.low + c.none + c.unknown,
      scanned_cnt: c.scanned,
      total_artifact: c.artifacts,
      fixable_cnt: c.fixable,
    });
    if (opts.withDangerousCve) {
      const cves = await this.store.dangerousCves(scope, dangerousTop);
      if (cves.length) {
        view.dangerous_cves = cves.map((r) => ({ cve_id: r.cve_id, severity: severityOfLevel[r.level] ?? 'Unknown', cvss_score_v3: r.score, desc: r.description, package: r.package, version: r.version }));
      }
    }
    if (opts.withDangerousArtifact) {
      const arts = await this.store.dangerousArtifacts(scope, dangerousTop);
      if (arts.length) {
        view.dangerous_artifacts = arts.map((r) => ({ project_id: r.project_id, repository_name: r.repository_name, digest: r.digest, critical_cnt: r.critical, high_cnt: r.high, medium_cnt: r.medium }));
      }
    }
    return view;
  }

  /** `GET /security/vul`: one page of findings per artifact row, highest CVSS v3 score first. */
  async listVulnerabilities(ctx: ScanCallContext, req: VulnerabilityListRequest): Promise<Page<VulnerabilityItemView>> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const filters = vulnerabilityFilters(req.q);
    const scope = await this.scope();
    if (!scope) return { items: [], total: 0 };
    const page = await this.store.vulnerabilities(scope, filters, req.page, req.pageSize, req.tuneCount ? tunedCountLimit : undefined);
    const tags = req.withTag ? await this.store.tagsOf(page.items.map((r) => r.artifact_id), tagsPerFinding) : undefined;
    const items = page.items.map(
      (r): VulnerabilityItemView => ({
        project_id: r.project_id,
        repository_name: r.repository_name,
        digest: r.digest,
        ...(tags ? { tags: tags.get(r.artifact_id) ?? [] } : {}),
        cve_id: r.cve_id,
        severity: r.severity,
        status: r.status,
        ...(r.score === null ? {} : { cvss_v3_score: r.score }),
        package: r.package,
        version: r.version,
        fixed_version: r.fix_version,
        desc: r.description,
        links: linksOf(r.links),
      }),
    );
    return { items, total: page.total };
  }
}
