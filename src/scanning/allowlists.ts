/**
 * CVE allowlists: Harbor's system list (`GET|PUT /system/CVEAllowlist`) and the list a pull gate
 * applies to a project. A project's own list is written with the project (its `cve_allowlist`,
 * src/projects/project-admin.ts); both live in `cve_allowlists` (src/db/cve-allowlist-store.ts).
 *
 * GET needs a logged-in caller (any user), PUT the system admin. The effective list of a project:
 * the system list while the project's `reuse_sys_cve_allowlist` is true or absent, else the
 * project's own; either is ignored from its `expires_at` on. The lists act on the pull gate only.
 */
import type { Kysely } from 'kysely';
import type { Authorizer } from '../auth/index.ts';
import { allowlistInForce, cveAllowlistView, fail, parseCveAllowlist, storedCveIds, type CveAllowlistView } from '../domain/index.ts';
import { gateAllowlists, readAllowlist, writeAllowlist, type CveAllowlistRow, type Database } from '../db/index.ts';
import type { ScanCallContext } from './registrations.ts';

/** What the allowlist service needs. */
export interface CveAllowlistsDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

/** Go's strconv.ParseBool false spellings: the project metadata's booleans. */
const falseSpellings: ReadonlySet<string> = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** `reuse_sys_cve_allowlist` of a project's stored metadata (JSON text): true unless it says false. */
export function reusesSystemAllowlist(metadata: string | undefined): boolean {
  if (metadata === undefined || metadata === '') return true;
  try {
    const m: unknown = JSON.parse(metadata);
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return true;
    const v: unknown = Object.getOwnPropertyDescriptor(m, 'reuse_sys_cve_allowlist')?.value;
    if (v === false) return false;
    return !(typeof v === 'string' && falseSpellings.has(v));
  } catch {
    return true;
  }
}

/** The ids of a list that is in force at `nowMs`; an empty set for none or an expired one. */
export function idsInForce(row: CveAllowlistRow | undefined, nowMs: number): Set<string> {
  if (!row || !allowlistInForce(row.expires_at === null ? null : Number(row.expires_at), nowMs)) return new Set();
  return new Set(storedCveIds(row.items));
}

/** The system CVE allowlist and the effective list of a project. */
export class CveAllowlists {
  private readonly now: () => number;

  constructor(private readonly deps: CveAllowlistsDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** GET /system/CVEAllowlist: any logged-in caller. */
  async getSystem(ctx: ScanCallContext): Promise<CveAllowlistView> {
    if (ctx.actor.username === '') throw fail('UNAUTHORIZED', 'authentication required to read the system CVE allowlist');
    return cveAllowlistView((await readAllowlist(this.deps.db, null)) ?? null, 0);
  }

  /** PUT /system/CVEAllowlist: replaces the system list (system admin). */
  async putSystem(ctx: ScanCallContext, body: unknown): Promise<void> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const list = parseCveAllowlist(body, 0);
    await this.deps.db.transaction().execute((trx) => writeAllowlist(trx, null, list, this.now()));
  }

  /**
   * The CVE ids a pull of an artifact in `projectId` may ignore at `nowMs` (milliseconds since the
   * epoch): the system list while the project reuses it (`reuse_sys_cve_allowlist` absent or
   * true), else the project's own; an expired list (`nowMs >= expires_at * 1000`) is empty.
   */
  async effectiveAllowlist(projectId: number, nowMs: number): Promise<Set<string>> {
    const g = await gateAllowlists(this.deps.db, projectId);
    return idsInForce(reusesSystemAllowlist(g.metadata) ? g.system : g.project, nowMs);
  }
}
