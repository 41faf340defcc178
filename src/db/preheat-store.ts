/**
 * The SQL of P2P preheat (`preheat_instances`, `preheat_policies`, migration 0023): provider
 * instances listed with Harbor's q/sort/paging, and the policies of a project. Written by
 * src/preheat/.
 */
import type { Kysely } from 'kysely';
import type { ListQuery, ListSpec, Page } from '../domain/index.ts';
import type { Database, PreheatInstanceRow, PreheatPolicyRow } from './schema.ts';
import { listPage } from './listing.ts';

/** The fields of `GET /p2p/preheat/instances` (Harbor's q and sort). */
export const preheatInstanceListSpec = {
  id: { type: 'int', column: 'id' },
  name: { type: 'text', column: 'name' },
  description: { type: 'text', column: 'description' },
  vendor: { type: 'text', column: 'vendor' },
  endpoint: { type: 'text', column: 'endpoint' },
  auth_mode: { type: 'text', column: 'auth_mode' },
  setup_timestamp: { type: 'int', column: 'setup_timestamp' },
} as const satisfies ListSpec;

/** The fields of `GET /projects/{p}/preheat/policies` (Harbor's q and sort). */
export const preheatPolicyListSpec = {
  id: { type: 'int', column: 'id' },
  name: { type: 'text', column: 'name' },
  description: { type: 'text', column: 'description' },
  provider_id: { type: 'int', column: 'provider_id' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** What a provider instance is made of (all but id and setup time). */
export interface PreheatInstanceFields {
  name: string;
  description: string;
  vendor: string;
  endpoint: string;
  authMode: string;
  /** Holds secrets: never log it or show it. */
  authInfo: Record<string, string>;
  enabled: boolean;
  isDefault: boolean;
  insecure: boolean;
}

function instanceColumns(f: PreheatInstanceFields) {
  return {
    name: f.name,
    description: f.description,
    vendor: f.vendor,
    endpoint: f.endpoint,
    auth_mode: f.authMode,
    auth_info: JSON.stringify(f.authInfo),
    enabled: f.enabled ? 1 : 0,
    is_default: f.isDefault ? 1 : 0,
    insecure: f.insecure ? 1 : 0,
  };
}

/** One instance by id. */
export async function readPreheatInstance(db: Kysely<Database>, id: number): Promise<PreheatInstanceRow | undefined> {
  return db.selectFrom('preheat_instances').selectAll().where('id', '=', id).executeTakeFirst();
}

/** One instance by name. */
export async function readPreheatInstanceByName(db: Kysely<Database>, name: string): Promise<PreheatInstanceRow | undefined> {
  return db.selectFrom('preheat_instances').selectAll().where('name', '=', name).executeTakeFirst();
}

/** True when an instance other than `exceptId` has that endpoint. */
export async function preheatEndpointTaken(db: Kysely<Database>, endpoint: string, exceptId?: number): Promise<boolean> {
  let q = db.selectFrom('preheat_instances').select('id').where('endpoint', '=', endpoint);
  if (exceptId !== undefined) q = q.where('id', '<>', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

/**
 * Inserts an instance; returns its id. When it is the default, the others stop being so in the
 * same transaction (one default at most). A name clash fails with the database's unique violation.
 */
export async function insertPreheatInstance(db: Kysely<Database>, f: PreheatInstanceFields, now: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    if (f.isDefault) await trx.updateTable('preheat_instances').set({ is_default: 0 }).where('is_default', '=', 1).execute();
    const row = await trx
      .insertInto('preheat_instances')
      .values({ ...instanceColumns(f), setup_timestamp: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  });
}

/** Replaces an instance's fields (the default moves to it when it becomes the default). */
export async function updatePreheatInstance(db: Kysely<Database>, id: number, f: PreheatInstanceFields): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (f.isDefault) await trx.updateTable('preheat_instances').set({ is_default: 0 }).where('is_default', '=', 1).where('id', '<>', id).execute();
    await trx.updateTable('preheat_instances').set(instanceColumns(f)).where('id', '=', id).execute();
  });
}

/** Deletes an instance; false when it was not there. */
export async function deletePreheatInstance(db: Kysely<Database>, id: number): Promise<boolean> {
  const r = await db.deleteFrom('preheat_instances').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Instances, by id unless `sort` says otherwise. */
export async function listPreheatInstances(db: Kysely<Database>, list: ListQuery): Promise<Page<PreheatInstanceRow>> {
  return listPage(db.selectFrom('preheat_instances').selectAll(), list, preheatInstanceListSpec, { fallback: [{ column: 'id', desc: false }], tieBreak: { column: 'id', desc: false } });
}

/** Every instance, by id (Harbor's ListProvidersUnderProject reads them all). */
export async function allPreheatInstances(db: Kysely<Database>): Promise<PreheatInstanceRow[]> {
  return db.selectFrom('preheat_instances').selectAll().orderBy('id').execute();
}

/** True when a policy of an existing project refers to the instance (a deleted project's policies hold nothing). */
export async function preheatInstanceInUse(db: Kysely<Database>, id: number): Promise<boolean> {
  const row = await db
    .selectFrom('preheat_policies as pp')
    .innerJoin('projects as p', 'p.id', 'pp.project_id')
    .select('pp.id')
    .where('pp.provider_id', '=', id)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** What a preheat policy is made of (all but id and times). */
export interface PreheatPolicyFields {
  name: string;
  description: string;
  projectId: number;
  providerId: number;
  /** Harbor's filters JSON text, as validated. */
  filters: string;
  /** Harbor's trigger JSON text, as validated. */
  trigger: string;
  /** `manual`, `scheduled` or `event_based`. */
  triggerType: string;
  enabled: boolean;
  extraAttrs: string;
}

function policyColumns(f: PreheatPolicyFields) {
  return {
    name: f.name,
    description: f.description,
    project_id: f.projectId,
    provider_id: f.providerId,
    filters: f.filters,
    trigger: f.trigger,
    trigger_type: f.triggerType,
    enabled: f.enabled ? 1 : 0,
    extra_attrs: f.extraAttrs,
  };
}

/** One policy by id. */
export async function readPreheatPolicy(db: Kysely<Database>, id: number): Promise<PreheatPolicyRow | undefined> {
  return db.selectFrom('preheat_policies').selectAll().where('id', '=', id).executeTakeFirst();
}

/** One policy of a project by name. */
export async function readPreheatPolicyByName(db: Kysely<Database>, projectId: number, name: string): Promise<PreheatPolicyRow | undefined> {
  return db.selectFrom('preheat_policies').selectAll().where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
}

/** Inserts a policy; returns its id. A name clash in the project fails with a unique violation. */
export async function insertPreheatPolicy(db: Kysely<Database>, f: PreheatPolicyFields, now: number): Promise<number> {
  const row = await db
    .insertInto('preheat_policies')
    .values({ ...policyColumns(f), creation_time: now, update_time: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Replaces a policy's fields. */
export async function updatePreheatPolicy(db: Kysely<Database>, id: number, f: PreheatPolicyFields, now: number): Promise<void> {
  await db.updateTable('preheat_policies').set({ ...policyColumns(f), update_time: now }).where('id', '=', id).execute();
}

/** Deletes a policy; false when it was not there. */
export async function deletePreheatPolicy(db: Kysely<Database>, id: number): Promise<boolean> {
  const r = await db.deleteFrom('preheat_policies').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** The policies of a project, by id unless `sort` says otherwise. */
export async function listPreheatPolicies(db: Kysely<Database>, projectId: number, list: ListQuery): Promise<Page<PreheatPolicyRow>> {
  const q = db.selectFrom('preheat_policies').selectAll().where('project_id', '=', projectId);
  return listPage(q, list, preheatPolicyListSpec, { fallback: [{ column: 'id', desc: false }], tieBreak: { column: 'id', desc: false } });
}

/** The enabled event-based policies of a project (what a push there starts). */
export async function eventPreheatPolicies(db: Kysely<Database>, projectId: number): Promise<PreheatPolicyRow[]> {
  return db
    .selectFrom('preheat_policies')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('trigger_type', '=', 'event_based')
    .where('enabled', '=', 1)
    .orderBy('id')
    .execute();
}

/** What preheat reads of a project: its id, access and security settings (Harbor's metadata keys). */
export interface PreheatProjectRow {
  id: number;
  name: string;
  public: number;
  metadata: string;
}

/** A project by name, for preheat's permission checks and filters. */
export async function preheatProject(db: Kysely<Database>, name: string): Promise<PreheatProjectRow | undefined> {
  return db.selectFrom('projects').select(['id', 'name', 'public', 'metadata']).where('name', '=', name).executeTakeFirst();
}

/** A project by id (a schedule or an event names the project by id). */
export async function preheatProjectById(db: Kysely<Database>, id: number): Promise<PreheatProjectRow | undefined> {
  return db.selectFrom('projects').select(['id', 'name', 'public', 'metadata']).where('id', '=', id).executeTakeFirst();
}

/** One tag of a project's artifact, with what preheat's filters need. */
export interface PreheatTagRow {
  repository: string;
  tag: string;
  artifact_id: number;
  digest: string;
  media_type: string;
  config_media_type: string | null;
  artifact_type: string | null;
  subject_digest: string | null;
}

/** The tags of a project's artifacts, by repository and tag. */
export async function preheatTags(db: Kysely<Database>, projectId: number): Promise<PreheatTagRow[]> {
  return db
    .selectFrom('tags as t')
    .innerJoin('artifacts as a', 'a.id', 't.artifact_id')
    .innerJoin('repositories as r', 'r.id', 't.repository_id')
    .select(['r.name as repository', 't.name as tag', 'a.id as artifact_id', 'a.digest', 'a.media_type', 'a.config_media_type', 'a.artifact_type', 'a.subject_digest'])
    .where('r.project_id', '=', projectId)
    .orderBy('r.name')
    .orderBy('t.name')
    .execute();
}

/** The label names of a project's artifacts (artifact id -> names). */
export async function preheatLabels(db: Kysely<Database>, projectId: number): Promise<Map<number, string[]>> {
  const rows = await db
    .selectFrom('artifact_labels as al')
    .innerJoin('labels as l', 'l.id', 'al.label_id')
    .innerJoin('artifacts as a', 'a.id', 'al.artifact_id')
    .innerJoin('repositories as r', 'r.id', 'a.repository_id')
    .select(['al.artifact_id', 'l.name'])
    .where('r.project_id', '=', projectId)
    .execute();
  const out = new Map<number, string[]>();
  for (const r of rows) out.set(Number(r.artifact_id), [...(out.get(Number(r.artifact_id)) ?? []), r.name]);
  return out;
}

/** The highest severity of the newest successful scan of each digest of a project ('' for none). */
export async function preheatSeverities(db: Kysely<Database>, projectId: number): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('scan_reports as s')
    .select(['s.digest', 's.severity', 's.end_time'])
    .where('s.status', '=', 'Success')
    .where('s.digest', 'in', (eb) => eb.selectFrom('artifacts as a').innerJoin('repositories as r', 'r.id', 'a.repository_id').select('a.digest').where('r.project_id', '=', projectId))
    .orderBy('s.end_time')
    .execute();
  const out = new Map<string, string>();
  for (const r of rows) out.set(r.digest, r.severity);
  return out;
}

/** The manifests of a project that name a subject: repository, subject digest and what they are. */
export async function preheatAccessories(db: Kysely<Database>, projectId: number): Promise<Array<{ repository: string; subject_digest: string; config_media_type: string | null; artifact_type: string | null }>> {
  const rows = await db
    .selectFrom('artifacts as a')
    .innerJoin('repositories as r', 'r.id', 'a.repository_id')
    .select(['r.name as repository', 'a.subject_digest', 'a.config_media_type', 'a.artifact_type'])
    .where('r.project_id', '=', projectId)
    .where('a.subject_digest', 'is not', null)
    .execute();
  return rows.flatMap((r) => (r.subject_digest === null ? [] : [{ ...r, subject_digest: r.subject_digest }]));
}
