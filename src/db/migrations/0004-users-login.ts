/** Users and login (issue 4): password history for reuse checks and the token signing keys. */
import { sql, type Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates `password_history` and `token_signing_keys`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('password_history')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('password_history_user').on('password_history').columns(['user_id', 'id']).execute();
  await db.schema
    .createTable('token_signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('private_jwk', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .execute();
  // Seed the history with the current hash of every existing user (the admin, on an upgrade).
  await sql`INSERT INTO password_history (user_id, password_hash, creation_time) SELECT id, password_hash, update_time FROM users`.execute(db);
}

/** Drops them. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('token_signing_keys').execute();
  await db.schema.dropTable('password_history').execute();
}
