/**
 * LDAP authentication (issue 15, src/auth/ldap-service.ts): `users.admin_role_in_auth` is Harbor's
 * `admin_role_in_auth`, 1 while the user's last LDAP sign-in found it in `ldap_group_admin_dn`.
 * It makes the user a system admin beside `sysadmin` (which the system admin sets), and each
 * sign-in rewrites it, so leaving the group in the directory ends it at the next sign-in.
 */
import type { Kysely } from 'kysely';

/** Adds users.admin_role_in_auth (0 for every existing user). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('admin_role_in_auth', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

/** Drops it (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('admin_role_in_auth').execute();
}
