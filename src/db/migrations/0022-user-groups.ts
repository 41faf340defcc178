/**
 * User groups (issue 15): Harbor's user groups, who is in them and groups as project members.
 *
 * - `user_groups`: Harbor's UserGroup (group_type 1 LDAP, 2 HTTP, 3 OIDC; `ldap_group_dn` '' for
 *   the others). One group per (group_type, group_name).
 * - `user_group_members`: a user in a group, with `source` saying where the membership comes from:
 *   'local' (added through Wharf's API) today; a directory or an identity provider can later write
 *   its own rows ('ldap', 'oidc', 'http') at login and replace only those, leaving local ones alone.
 *   Rows go with their group or user (ON DELETE CASCADE).
 * - `project_members` gains `group_id`: a member row is a user's (`user_id`) or a group's
 *   (`group_id`), exactly one of them, so member ids stay one sequence as Harbor's are. A group's
 *   memberships go with the group. SQLite cannot drop a NOT NULL, so there the table is rebuilt.
 */
import { sql, type Kysely } from 'kysely';
import { autoId, isPostgres } from '../dialect.ts';

/** Creates user_groups and user_group_members; lets project_members hold groups. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('user_groups')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('group_name', 'text', (c) => c.notNull())
    .addColumn('group_type', 'integer', (c) => c.notNull())
    .addColumn('ldap_group_dn', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('user_groups_type_name', ['group_type', 'group_name'])
    .execute();
  await db.schema.createIndex('user_groups_name').on('user_groups').column('group_name').execute();
  await db.schema
    .createTable('user_group_members')
    .addColumn('group_id', 'integer', (c) => c.notNull().references('user_groups.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('user_group_members_pk', ['group_id', 'user_id', 'source'])
    .execute();
  await db.schema.createIndex('user_group_members_user').on('user_group_members').column('user_id').execute();

  const oneEntity = sql`(user_id is null) <> (group_id is null)`;
  if (isPostgres(db)) {
    await db.schema.alterTable('project_members').alterColumn('user_id', (c) => c.dropNotNull()).execute();
    await db.schema
      .alterTable('project_members')
      .addColumn('group_id', 'integer', (c) => c.references('user_groups.id').onDelete('cascade'))
      .execute();
    await db.schema.alterTable('project_members').addCheckConstraint('project_members_one_entity', oneEntity).execute();
    await db.schema.alterTable('project_members').addUniqueConstraint('project_members_project_group', ['project_id', 'group_id']).execute();
  } else {
    await db.schema
      .createTable('project_members_0022')
      .addColumn('id', 'integer', autoId(db))
      .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('group_id', 'integer', (c) => c.references('user_groups.id').onDelete('cascade'))
      .addColumn('role_id', 'integer', (c) => c.notNull())
      .addColumn('creation_time', 'bigint', (c) => c.notNull())
      .addColumn('update_time', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('project_members_project_user', ['project_id', 'user_id'])
      .addUniqueConstraint('project_members_project_group', ['project_id', 'group_id'])
      .addCheckConstraint('project_members_one_entity', oneEntity)
      .execute();
    await sql`insert into project_members_0022 (id, project_id, user_id, group_id, role_id, creation_time, update_time)
      select id, project_id, user_id, null, role_id, creation_time, update_time from project_members`.execute(db);
    // AUTOINCREMENT's counter moves too, so that no member id is ever used twice.
    await sql`delete from sqlite_sequence where name = 'project_members_0022'`.execute(db);
    await sql`insert into sqlite_sequence (name, seq) select 'project_members_0022', seq from sqlite_sequence where name = 'project_members'`.execute(db);
    await db.schema.dropTable('project_members').execute();
    await db.schema.alterTable('project_members_0022').renameTo('project_members').execute();
    await db.schema.createIndex('project_members_user').on('project_members').column('user_id').execute();
  }
  await db.schema.createIndex('project_members_group').on('project_members').column('group_id').execute();
}

/** Drops the group tables (development only: group members of projects are deleted first; SQLite keeps the rebuilt table). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from project_members where group_id is not null`.execute(db);
  if (isPostgres(db)) await db.schema.alterTable('project_members').dropColumn('group_id').execute();
  await db.schema.dropTable('user_group_members').execute();
  await db.schema.dropTable('user_groups').execute();
}
