/**
 * The SQL of replication (migration 0019): Harbor's /replication/policies rows, listed with
 * Harbor's q/sort/paging; the policies an event can start; whether a registry endpoint is still
 * referenced (by a policy, or by a proxy-cache project's `registry_id`). Written by
 * src/replication/policies.ts; the SQL of runs (`replication_summaries` included) is in
 * ./replication-run-store.ts.
 */
import type { Kysely, Selectable } from 'kysely';
import type { ListQuery, ListSpec, Page } from '../domain/index.ts';
import type { Database, ReplicationPoliciesTable } from './schema.ts';
import { listPage } from './listing.ts';
import { likeContains } from './like.ts';

/** A replication policy row; `enabled` is 0/1, times in ms. */
export type ReplicationPolicyRow = Selectable<ReplicationPoliciesTable>;

/** The fields of `GET /replication/policies` (Harbor's q and sort). */
export const replicationPolicyListSpec = {
  id: { type: 'int', column: 'id' },
  name: { type: 'text', column: 'name' },
  description: { type: 'text', column: 'description' },
  src_registry_id: { type: 'int', column: 'src_registry_id' },
  dest_registry_id: { type: 'int', column: 'dest_registry_id' },
  trigger_type: { type: 'text', column: 'trigger_type' },
  enabled: { type: 'bool', column: 'enabled' },
  creator: { type: 'text', column: 'creator' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** What a policy row holds besides its id and times. */
export interface ReplicationPolicyFields {
  name: string;
  description: string;
  srcRegistryId: number;
  destRegistryId: number;
  triggerType: string;
  enabled: boolean;
  /** The validated policy's stored text (src/replication/policy.ts policyText). */
  policy: string;
}

function columns(f: ReplicationPolicyFields) {
  return {
    name: f.name,
    description: f.description,
    src_registry_id: f.srcRegistryId,
    dest_registry_id: f.destRegistryId,
    trigger_type: f.triggerType,
    enabled: f.enabled ? 1 : 0,
    policy: f.policy,
  };
}

/** One policy by id. */
export async function readReplicationPolicy(db: Kysely<Database>, id: number): Promise<ReplicationPolicyRow | undefined> {
  return db.selectFrom('replication_policies').selectAll().where('id', '=', id).executeTakeFirst();
}

/** True when a policy of that name exists (other than `exceptId`). */
export async function replicationPolicyNameTaken(db: Kysely<Database>, name: string, exceptId?: number): Promise<boolean> {
  let q = db.selectFrom('replication_policies').select('id').where('name', '=', name);
  if (exceptId !== undefined) q = q.where('id', '<>', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

/** Inserts a policy; returns its id. A name clash fails with the database's unique violation. */
export async function insertReplicationPolicy(db: Kysely<Database>, f: ReplicationPolicyFields, creator: string, now: number): Promise<number> {
  const row = await db
    .insertInto('replication_policies')
    .values({ ...columns(f), creator, creation_time: now, update_time: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Replaces a policy (its creator and creation time stay); false when it was not there. */
export async function updateReplicationPolicy(db: Kysely<Database>, id: number, f: ReplicationPolicyFields, now: number): Promise<boolean> {
  const r = await db.updateTable('replication_policies').set({ ...columns(f), update_time: now }).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Deletes a policy; false when it was not there. */
export async function deleteReplicationPolicy(db: Kysely<Database>, id: number): Promise<boolean> {
  const r = await db.deleteFrom('replication_policies').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Policies, `name` fuzzy (Harbor's deprecated `name` parameter), by id unless `sort` says otherwise. */
export async function listReplicationPolicies(db: Kysely<Database>, name: string | undefined, list: ListQuery): Promise<Page<ReplicationPolicyRow>> {
  let q = db.selectFrom('replication_policies').selectAll();
  if (name !== undefined && name !== '') q = q.where(likeContains('name', name));
  return listPage(q, list, replicationPolicyListSpec, { fallback: [{ column: 'id', desc: false }], tieBreak: { column: 'id', desc: false } });
}

/**
 * The enabled `event_based` policies whose source is the local registry (id 0), by id: what a
 * local push or deletion may start. Pass the event's transaction to read with it.
 */
export async function eventReplicationPolicies(db: Kysely<Database>): Promise<ReplicationPolicyRow[]> {
  return db
    .selectFrom('replication_policies')
    .selectAll()
    .where('trigger_type', '=', 'event_based')
    .where('enabled', '=', 1)
    .where('src_registry_id', '=', 0)
    .orderBy('id')
    .execute();
}

/**
 * What still refers to a registry endpoint: `policies` (a replication policy's source or
 * destination), `projects` (a proxy-cache project), or undefined when nothing does.
 */
export async function registryInUse(db: Kysely<Database>, registryId: number): Promise<'policies' | 'projects' | undefined> {
  const policy = await db
    .selectFrom('replication_policies')
    .select('id')
    .where((eb) => eb.or([eb('src_registry_id', '=', registryId), eb('dest_registry_id', '=', registryId)]))
    .executeTakeFirst();
  if (policy) return 'policies';
  const project = await db.selectFrom('projects').select('id').where('registry_id', '=', registryId).executeTakeFirst();
  return project ? 'projects' : undefined;
}
