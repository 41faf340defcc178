/**
 * The SQL of registry endpoints (`registries`, migration 0018): Harbor's /registries rows, listed
 * with Harbor's q/sort/paging, and their health status. Written by src/replication/registries.ts.
 */
import type { Kysely } from 'kysely';
import type { ListQuery, ListSpec, Page } from '../domain/index.ts';
import type { Database, RegistryEndpointRow } from './schema.ts';
import { listPage } from './listing.ts';
import { likeContains } from './like.ts';

/** The fields of `GET /registries` (Harbor's q and sort). */
export const registryEndpointListSpec = {
  id: { type: 'int', column: 'id' },
  name: { type: 'text', column: 'name' },
  type: { type: 'text', column: 'type' },
  url: { type: 'text', column: 'url' },
  status: { type: 'text', column: 'status' },
  description: { type: 'text', column: 'description' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** What a registry endpoint is made of (all but id, status and times). */
export interface RegistryEndpointFields {
  name: string;
  type: string;
  url: string;
  credentialType: string;
  accessKey: string;
  accessSecret: string;
  insecure: boolean;
  caCertificate: string | null;
  description: string;
}

function columns(f: RegistryEndpointFields) {
  return {
    name: f.name,
    type: f.type,
    url: f.url,
    credential_type: f.credentialType,
    access_key: f.accessKey,
    access_secret: f.accessSecret,
    insecure: f.insecure ? 1 : 0,
    ca_certificate: f.caCertificate,
    description: f.description,
  };
}

/** One registry endpoint by id. */
export async function readRegistryEndpoint(db: Kysely<Database>, id: number): Promise<RegistryEndpointRow | undefined> {
  return db.selectFrom('registries').selectAll().where('id', '=', id).executeTakeFirst();
}

/** True when an endpoint of that name exists (other than `exceptId`). */
export async function registryEndpointNameTaken(db: Kysely<Database>, name: string, exceptId?: number): Promise<boolean> {
  let q = db.selectFrom('registries').select('id').where('name', '=', name);
  if (exceptId !== undefined) q = q.where('id', '<>', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

/** Inserts an endpoint; returns its id. A name clash fails with the database's unique violation. */
export async function insertRegistryEndpoint(db: Kysely<Database>, f: RegistryEndpointFields, status: string, now: number): Promise<number> {
  const row = await db
    .insertInto('registries')
    .values({ ...columns(f), status, creation_time: now, update_time: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Replaces an endpoint's fields and status. */
export async function updateRegistryEndpoint(db: Kysely<Database>, id: number, f: RegistryEndpointFields, status: string, now: number): Promise<void> {
  await db.updateTable('registries').set({ ...columns(f), status, update_time: now }).where('id', '=', id).execute();
}

/** Records a health check's result (the update time is left alone: the endpoint did not change). */
export async function setRegistryEndpointStatus(db: Kysely<Database>, id: number, status: string): Promise<void> {
  await db.updateTable('registries').set({ status }).where('id', '=', id).execute();
}

/** Deletes an endpoint; false when it was not there. */
export async function deleteRegistryEndpoint(db: Kysely<Database>, id: number): Promise<boolean> {
  const r = await db.deleteFrom('registries').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Endpoints, `name` fuzzy (Harbor's deprecated `name` parameter), by id unless `sort` says otherwise. */
/** True when at least one endpoint is stored. */
export async function anyRegistryEndpoint(db: Kysely<Database>): Promise<boolean> {
  return (await db.selectFrom('registries').select('id').limit(1).executeTakeFirst()) !== undefined;
}

export async function listRegistryEndpoints(db: Kysely<Database>, name: string | undefined, list: ListQuery): Promise<Page<RegistryEndpointRow>> {
  let q = db.selectFrom('registries').selectAll();
  if (name !== undefined && name !== '') q = q.where(likeContains('name', name));
  return listPage(q, list, registryEndpointListSpec, { fallback: [{ column: 'id', desc: false }], tieBreak: { column: 'id', desc: false } });
}

/** The names of the global labels (`/registries/0/info` offers them to the label filter). */
export async function globalLabelNames(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('labels').select('name').where('scope', '=', 'g').orderBy('id').execute();
  return rows.map((r) => r.name);
}
