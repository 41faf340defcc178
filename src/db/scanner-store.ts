/**
 * The SQL of scanner registrations (`scanners`) and projects' pinned scanners
 * (`project_scanners`), migration 0012. The scanning service (src/scanning/registrations.ts) is
 * its only caller. At most one registration is the default: a partial unique index refuses a
 * second, so the writes that set one clear the old one first, in one transaction.
 */
import type { Insertable, Kysely } from 'kysely';
import type { ListQuery, ListSpec, Page } from '../domain/index.ts';
import type { Database, ScannerRow, ScannersTable } from './schema.ts';
import { listPage } from './listing.ts';

/** The fields `q` and `sort` take on the scanner lists (Harbor's registration columns). */
export const scannerListSpec = {
  uuid: { type: 'text', column: 'uuid' },
  name: { type: 'text', column: 'name' },
  description: { type: 'text', column: 'description' },
  url: { type: 'text', column: 'url' },
  auth: { type: 'text', column: 'auth' },
  disabled: { type: 'bool', column: 'disabled' },
  is_default: { type: 'bool', column: 'is_default' },
  skip_cert_verify: { type: 'bool', column: 'skip_cert_verify' },
  use_internal_addr: { type: 'bool', column: 'use_internal_addr' },
  create_time: { type: 'time', column: 'creation_time' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** A new registration's row. */
export type NewScannerRow = Insertable<ScannersTable>;

/** Settings an update may change. */
export type ScannerChange = Pick<ScannerRow, 'name' | 'description' | 'url' | 'auth' | 'access_credential' | 'skip_cert_verify' | 'use_internal_addr' | 'disabled'>;

/** What a metadata fetch records on the row. */
export type ScannerHealth = Pick<ScannerRow, 'adapter' | 'vendor' | 'version' | 'health' | 'capabilities'>;

/** A project as the project scanner routes need it. */
export interface ScannerProject {
  id: number;
  name: string;
  public: number;
}

/** One page of registrations (creation order unless `sort` says otherwise). */
export function listScanners(db: Kysely<Database>, list: ListQuery): Promise<Page<ScannerRow>> {
  return listPage(db.selectFrom('scanners').selectAll(), list, scannerListSpec, { fallback: [{ column: 'id', desc: false }], tieBreak: { column: 'id', desc: false } });
}

/** The registration with this uuid. */
export function scannerByUuid(db: Kysely<Database>, uuid: string): Promise<ScannerRow | undefined> {
  return db.selectFrom('scanners').selectAll().where('uuid', '=', uuid).executeTakeFirst();
}

/** The system default registration, if any. */
export function defaultScanner(db: Kysely<Database>): Promise<ScannerRow | undefined> {
  return db.selectFrom('scanners').selectAll().where('is_default', '=', 1).executeTakeFirst();
}

/** Which of `name` and `url` another registration (not `exceptUuid`) already uses. */
export async function takenBy(db: Kysely<Database>, name: string, url: string, exceptUuid = ''): Promise<{ name: boolean; url: boolean }> {
  const rows = await db
    .selectFrom('scanners')
    .select(['name', 'url'])
    .where((eb) => eb.and([eb('uuid', '!=', exceptUuid), eb.or([eb('name', '=', name), eb('url', '=', url)])]))
    .execute();
  return { name: rows.some((r) => r.name === name), url: rows.some((r) => r.url === url) };
}

/**
 * Inserts a registration. With `isDefault` it becomes the default only when there is none (the
 * first registration); on PostgreSQL two first registrations at once race for the index, and the
 * loser is inserted as not default. Throws the database's unique violation for a taken name or URL.
 */
export async function insertScanner(db: Kysely<Database>, row: NewScannerRow): Promise<ScannerRow> {
  return db.transaction().execute(async (trx) => {
    const hasDefault = (await trx.selectFrom('scanners').select('id').where('is_default', '=', 1).executeTakeFirst()) !== undefined;
    return trx
      .insertInto('scanners')
      .values({ ...row, is_default: hasDefault ? 0 : 1 })
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

/** Inserts the row when no registration has its name (ON CONFLICT DO NOTHING); true when it did. */
export async function insertScannerIfAbsent(db: Kysely<Database>, row: NewScannerRow): Promise<boolean> {
  const res = await db
    .insertInto('scanners')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Makes the immutable (built-in) registration named `name` the default when there is no default. */
export async function builtinDefaultIfNone(db: Kysely<Database>, name: string): Promise<void> {
  await db
    .updateTable('scanners')
    .set({ is_default: 1 })
    .where('name', '=', name)
    .where('immutable', '=', 1)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('scanners as d').select('d.id').where('d.is_default', '=', 1))))
    .execute();
}

/** Changes a registration's settings; false when it no longer exists. */
export async function updateScanner(db: Kysely<Database>, uuid: string, change: ScannerChange, now: number): Promise<boolean> {
  const res = await db
    .updateTable('scanners')
    .set({ ...change, update_time: now })
    .where('uuid', '=', uuid)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Records what the last metadata fetch found (does not touch update_time). */
export async function recordScannerHealth(db: Kysely<Database>, uuid: string, health: ScannerHealth): Promise<void> {
  await db.updateTable('scanners').set(health).where('uuid', '=', uuid).execute();
}

/** Deletes a registration (its project pins go with it); the deleted row, or undefined. */
export async function deleteScanner(db: Kysely<Database>, uuid: string): Promise<ScannerRow | undefined> {
  return db.deleteFrom('scanners').where('uuid', '=', uuid).returningAll().executeTakeFirst();
}

/** Makes `uuid` the default, clearing the old one in the same transaction; false when it does not exist. */
export async function setDefaultScanner(db: Kysely<Database>, uuid: string, now: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx.updateTable('scanners').set({ is_default: 0, update_time: now }).where('is_default', '=', 1).where('uuid', '!=', uuid).execute();
    const res = await trx.updateTable('scanners').set({ is_default: 1, update_time: now }).where('uuid', '=', uuid).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  });
}

/** The project named by id or name (`byName`), for the project scanner routes. */
export function scannerProject(db: Kysely<Database>, nameOrId: string, byName: boolean): Promise<ScannerProject | undefined> {
  const q = db.selectFrom('projects').select(['id', 'name', 'public']);
  return (byName ? q.where('name', '=', nameOrId) : q.where('id', '=', Number(nameOrId))).executeTakeFirst();
}

/** The registration pinned to a project, if any. */
export function pinnedScanner(db: Kysely<Database>, projectId: number): Promise<ScannerRow | undefined> {
  return db
    .selectFrom('project_scanners')
    .innerJoin('scanners', 'scanners.id', 'project_scanners.scanner_id')
    .selectAll('scanners')
    .where('project_scanners.project_id', '=', projectId)
    .executeTakeFirst();
}

/** Pins a registration to a project (replacing an earlier pin). */
export async function pinScanner(db: Kysely<Database>, projectId: number, scannerId: number, now: number): Promise<void> {
  await db
    .insertInto('project_scanners')
    .values({ project_id: projectId, scanner_id: scannerId, update_time: now })
    .onConflict((oc) => oc.column('project_id').doUpdateSet({ scanner_id: scannerId, update_time: now }))
    .execute();
}
