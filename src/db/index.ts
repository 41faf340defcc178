/** The database: Kysely types, migrations and the repositories that are the only SQL in Wharf. */
export * from './schema.ts';
export { openDatabase, type Db } from './connect.ts';
