/**
 * Robot accounts, as Harbor's /api/v2.0/robots: project robots `robot$<project>+<name>` (level
 * `project`, permissions in that one project) and system robots `robot$<name>` (level `system`,
 * permissions in any projects, `*` for all). The secret is shown once, at creation or refresh; only
 * its argon2id hash is stored. A robot expires `duration` days after creation (-1: never); expired
 * and disabled robots cannot authenticate (src/auth/principals.ts).
 *
 * Who may: a project robot is managed by that project's admins (`manage-robots`) and listed by
 * its members (`read-robots`); system robots by the system admin only. A robot may refresh its own
 * secret. Every change is recorded in the audit log (resource type `robot`, resource the robot's
 * name) in the change's transaction.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { fail, filterOf, type ListQuery, type ListSpec } from '../domain/index.ts';
import { conditionSql, listPage, resolveList, type Database, type ProjectRow, type RobotRow } from '../db/index.ts';
import type { Actor } from './actor.ts';
import type { Authorizer } from './authorizer.ts';
import { Authenticator } from './authenticator.ts';
import { parseRobotPermissions, type RobotPermission } from './principals.ts';
import type { AuditTrail } from './audit-trail.ts';

/** Harbor's default `robot_name_prefix`: new robot names start with the configured prefix ({@link RobotServiceDeps.namePrefix}). */
export const robotPrefix = 'robot$';

/** Days a robot lives when the request gives no duration (Harbor's default robot_token_duration). */
export const defaultRobotDays = 30;

/** Resources and the actions a robot may be granted on them (Harbor's names). */
export const robotResources: Readonly<Record<string, ReadonlySet<string>>> = Object.freeze({
  repository: new Set(['pull', 'push', 'delete', 'list', 'read', 'create', 'update']),
  artifact: new Set(['read', 'delete', 'list', 'create']),
  tag: new Set(['create', 'delete', 'list']),
  'artifact-label': new Set(['create', 'delete']),
  'artifact-addition': new Set(['read']),
  accessory: new Set(['list']),
  scan: new Set(['create', 'read', 'stop']),
  label: new Set(['create', 'read', 'update', 'delete', 'list']),
  'notification-policy': new Set(['create', 'read', 'update', 'delete', 'list']),
  member: new Set(['create', 'read', 'update', 'delete', 'list']),
  robot: new Set(['create', 'read', 'update', 'delete', 'list']),
  log: new Set(['list']),
  project: new Set(['read', 'update', 'delete']),
  quota: new Set(['read']),
  'immutable-tag': new Set(['create', 'delete', 'list', 'update']),
  'tag-retention': new Set(['create', 'delete', 'list', 'operate', 'read', 'update']),
  sbom: new Set(['create', 'read', 'stop']),
  metadata: new Set(['create', 'delete', 'list', 'read', 'update']),
  scanner: new Set(['create', 'read']),
  'export-cve': new Set(['create', 'read']),
  'helm-chart': new Set(['create', 'read', 'delete', 'list']),
  'helm-chart-version': new Set(['create', 'read', 'delete', 'list']),
});

/** Harbor's Robot (secret never included). */
export interface RobotView {
  id: number;
  name: string;
  description: string;
  level: 'project' | 'system';
  duration: number;
  editable: boolean;
  disable: boolean;
  /** Unix seconds; -1 never. */
  expires_at: number;
  permissions: RobotPermission[];
  creation_time: string;
  update_time: string;
}

/** Harbor's RobotCreated: the only answer that carries the secret. */
export interface RobotCreated {
  id: number;
  name: string;
  secret: string;
  creation_time: string;
  expires_at: number;
}

/**
 * The fields `q` and `sort` take on the robot list: Harbor's `Level` and `ProjectID` (what
 * Terraform and harbor-cli send) and the robot's own columns. An exact `name` matches with or
 * without the `robot$` prefix (Harbor stores names without it).
 */
export const robotListSpec = {
  id: { type: 'int', column: 'id' },
  name: { type: 'text' },
  Level: { type: 'text', column: 'level' },
  level: { type: 'text', column: 'level' },
  ProjectID: { type: 'int', column: 'project_id' },
  project_id: { type: 'int', column: 'project_id' },
  disable: { type: 'bool', column: 'disabled' },
  duration: { type: 'int', column: 'duration' },
  expires_at: { type: 'int', column: 'expires_at' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** What the robot service needs. */
export interface RobotServiceDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** Records every robot change (the audit log). */
  audit: AuditTrail;
  /** Told when a robot's secret changes or the robot goes, so cached checks of the old secret end at once. */
  authenticator?: Pick<Authenticator, 'invalidateRobot'>;
  /** The system setting `robot_name_prefix` (src/settings/, wired by the API); absent: `robot$`. */
  namePrefix?: () => Promise<string>;
}

const namePattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw fail('BAD_REQUEST', `${what} must be a JSON object`);
  // A non-null, non-array object: its keys are read one by one with checks.
  return v as Record<string, unknown>;
}

/** A new random secret: 32 characters with upper, lower case letters and digits. */
export function generateSecret(): string {
  for (;;) {
    const s = randomBytes(24).toString('base64url');
    if (isStrongSecret(s)) return s;
  }
}

/** Harbor's rule for given secrets: 8 to 128 characters with an upper-case letter, a lower-case letter and a digit. */
export function isStrongSecret(s: string): boolean {
  return s.length >= 8 && s.length <= 128 && /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s);
}

function secretOf(v: unknown): string {
  if (v === undefined || v === null || v === '') return generateSecret();
  if (typeof v !== 'string' || !isStrongSecret(v)) {
    throw fail('BAD_REQUEST', 'secret must be 8 to 128 characters with at least one upper-case letter, one lower-case letter and one digit');
  }
  return v;
}

function durationOf(v: unknown): number {
  if (v === undefined || v === null || v === 0) return defaultRobotDays;
  if (typeof v !== 'number' || !Number.isInteger(v) || (v !== -1 && (v < 1 || v > 36_500))) {
    throw fail('BAD_REQUEST', 'duration must be -1 (never expires) or a number of days between 1 and 36500');
  }
  return v;
}

function expiresAt(creationMs: number, days: number): number {
  return days === -1 ? -1 : Math.floor(creationMs / 1000) + days * 86_400;
}

/** Validates Harbor's `permissions` array; every resource and action must be known. */
function permissionsOf(v: unknown): RobotPermission[] {
  if (!Array.isArray(v) || v.length === 0) throw fail('BAD_REQUEST', 'permissions must be a non-empty array of {kind, namespace, access[]}');
  const out: RobotPermission[] = [];
  for (const raw of v) {
    const p = obj(raw, 'each permission');
    if (p.kind !== 'project' && p.kind !== 'system') throw fail('BAD_REQUEST', 'permission kind must be "project" or "system"');
    if (typeof p.namespace !== 'string' || p.namespace === '') throw fail('BAD_REQUEST', 'permission namespace is required (a project name, "*" for all projects, "/" for kind system)');
    if (!Array.isArray(p.access) || p.access.length === 0) throw fail('BAD_REQUEST', `permission for ${p.namespace}: access must be a non-empty array`);
    const access: RobotPermission['access'] = [];
    for (const rawA of p.access) {
      const a = obj(rawA, 'each access');
      if (typeof a.resource !== 'string' || typeof a.action !== 'string') throw fail('BAD_REQUEST', 'access items need a resource and an action');
      if (p.kind === 'project' && !robotResources[a.resource]?.has(a.action)) {
        throw fail('BAD_REQUEST', `unknown permission ${a.resource}:${a.action}; known: ${Object.entries(robotResources).map(([r, acts]) => `${r}:{${[...acts].join(',')}}`).join(' ')}`);
      }
      if (a.effect !== undefined && a.effect !== 'allow' && a.effect !== 'deny') throw fail('BAD_REQUEST', 'access effect must be "allow" or "deny"');
      access.push({ resource: a.resource, action: a.action, ...(typeof a.effect === 'string' ? { effect: a.effect } : {}) });
    }
    out.push({ kind: p.kind, namespace: p.namespace, access });
  }
  return out;
}

/** Creates, lists, changes, refreshes and deletes robot accounts. */
export class RobotService {
  constructor(private readonly deps: RobotServiceDeps) {}

  /** Creates a robot; the answer holds the secret, which is never shown again. */
  async create(actor: Actor, body: unknown): Promise<RobotCreated> {
    const b = obj(body, 'the body');
    if (typeof b.name !== 'string' || !namePattern.test(b.name) || b.name.length > 255) {
      throw fail('BAD_REQUEST', 'name is required: lower-case letters and digits, separated by single ".", "_" or "-"');
    }
    const level = b.level;
    if (level !== 'project' && level !== 'system') throw fail('BAD_REQUEST', 'level must be "project" or "system"');
    if (b.description !== undefined && typeof b.description !== 'string') throw fail('BAD_REQUEST', 'description must be a string');
    if (b.disable !== undefined && typeof b.disable !== 'boolean') throw fail('BAD_REQUEST', 'disable must be a boolean');
    const permissions = permissionsOf(b.permissions);
    const duration = durationOf(b.duration);
    const secret = secretOf(b.secret);
    const { project, fullName } = await this.scope(actor, level, permissions, b.name);
    const now = Date.now();
    const secretHash = await Authenticator.hashPassword(secret);
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('robots')
        .values({
          name: fullName,
          description: typeof b.description === 'string' ? b.description : '',
          secret_hash: secretHash,
          level,
          project_id: project?.id ?? null,
          duration,
          expires_at: expiresAt(now, duration),
          disabled: b.disable === true ? 1 : 0,
          permissions: JSON.stringify(permissions),
          creator: actor.username,
          creation_time: now,
          update_time: now,
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!inserted) throw fail('CONFLICT', `a robot named ${fullName} already exists`);
      await this.deps.audit.record(trx, { projectId: project?.id ?? null, username: actor.username, operation: 'create', resourceType: 'robot', resource: fullName });
      return inserted;
    });
    return { id: row.id, name: row.name, secret, creation_time: new Date(row.creation_time).toISOString(), expires_at: row.expires_at };
  }

  /** Lists robots: the system admin sees all; others must name a project (ProjectID) they may read robots of. */
  async list(actor: Actor, list: ListQuery): Promise<{ items: RobotView[]; total: number }> {
    const { filters } = resolveList(list, robotListSpec);
    const pid = filterOf(filters, 'ProjectID') ?? filterOf(filters, 'project_id');
    let q = this.deps.db.selectFrom('robots').selectAll();
    if (pid?.kind === 'exact' && typeof pid.value === 'number') {
      const p = await this.deps.db.selectFrom('projects').selectAll().where('id', '=', pid.value).executeTakeFirst();
      if (!p) {
        this.deps.authorizer.check(actor, 'admin');
        throw fail('NOT_FOUND', `project ${pid.value} not found`);
      }
      this.deps.authorizer.check(actor, 'read-robots', { name: p.name, public: p.public === 1 });
    } else {
      this.deps.authorizer.check(actor, 'admin');
    }
    const name = filterOf(filters, 'name');
    if (name?.kind === 'exact') q = q.where('name', 'in', [String(name.value), (await this.prefix()) + String(name.value)]);
    else if (name) q = q.where(conditionSql('name', name));
    const page = await listPage(q, list, robotListSpec, { fallback: [{ column: 'id', desc: false }], tieBreak: { column: 'id', desc: false } });
    return { items: page.items.map(view), total: page.total };
  }

  /** One robot. */
  async get(actor: Actor, id: number): Promise<RobotView> {
    const { row } = await this.robot(actor, id, 'read-robots');
    return view(row);
  }

  /** Changes description, disable, duration (from the creation time) and permissions; name and level stay. */
  async update(actor: Actor, id: number, body: unknown): Promise<void> {
    const { row } = await this.robot(actor, id, 'manage-robots');
    const b = obj(body, 'the body');
    if (b.name !== undefined && b.name !== row.name) throw fail('BAD_REQUEST', 'a robot cannot be renamed');
    if (b.level !== undefined && b.level !== row.level) throw fail('BAD_REQUEST', 'a robot cannot change level');
    if (b.description !== undefined && typeof b.description !== 'string') throw fail('BAD_REQUEST', 'description must be a string');
    if (b.disable !== undefined && typeof b.disable !== 'boolean') throw fail('BAD_REQUEST', 'disable must be a boolean');
    const duration = b.duration === undefined ? row.duration : durationOf(b.duration);
    let permissions = row.permissions;
    if (b.permissions !== undefined) {
      const perms = permissionsOf(b.permissions);
      const level = row.level === 'system' ? 'system' : 'project';
      const { project } = await this.scope(actor, level, perms, row.name);
      if (level === 'project' && project?.id !== row.project_id) throw fail('BAD_REQUEST', 'a project robot cannot move to another project');
      permissions = JSON.stringify(perms);
    }
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('robots')
        .set({
          description: typeof b.description === 'string' ? b.description : row.description,
          disabled: typeof b.disable === 'boolean' ? (b.disable ? 1 : 0) : row.disabled,
          duration,
          expires_at: expiresAt(row.creation_time, duration),
          permissions,
          update_time: Date.now(),
        })
        .where('id', '=', id)
        .execute();
      await this.deps.audit.record(trx, { projectId: row.project_id, username: actor.username, operation: 'update', resourceType: 'robot', resource: row.name });
    });
  }

  /** Sets the given secret or a new random one; returns it (the only time it is shown). */
  async refreshSecret(actor: Actor, id: number, body: unknown): Promise<{ secret: string }> {
    const self = actor.kind === 'robot' && actor.robot?.id === id;
    const { row } = self ? { row: await this.row(id) } : await this.robot(actor, id, 'manage-robots');
    const b = body === undefined ? {} : obj(body, 'the body');
    const secret = secretOf(b.secret);
    const secretHash = await Authenticator.hashPassword(secret);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('robots').set({ secret_hash: secretHash, update_time: Date.now() }).where('id', '=', row.id).execute();
      await this.deps.audit.record(trx, { projectId: row.project_id, username: actor.username, operation: 'update', resourceType: 'robot', resource: row.name });
    });
    this.deps.authenticator?.invalidateRobot(row.id);
    return { secret };
  }

  /** Deletes a robot. */
  async remove(actor: Actor, id: number): Promise<void> {
    const { row } = await this.robot(actor, id, 'manage-robots');
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('robots').where('id', '=', id).execute();
      await this.deps.audit.record(trx, { projectId: row.project_id, username: actor.username, operation: 'delete', resourceType: 'robot', resource: row.name });
    });
    this.deps.authenticator?.invalidateRobot(id);
  }

  private async row(id: number): Promise<RobotRow> {
    const row = Number.isSafeInteger(id) ? await this.deps.db.selectFrom('robots').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw fail('NOT_FOUND', `robot ${id} not found`);
    return row;
  }

  /** The robot after checking `action` on its project (system robots: admin only). Unknown ids are 404 for admins, refused for others. */
  private async robot(actor: Actor, id: number, action: 'read-robots' | 'manage-robots'): Promise<{ row: RobotRow }> {
    let row: RobotRow;
    try {
      row = await this.row(id);
    } catch (err) {
      this.deps.authorizer.check(actor, 'admin');
      throw err;
    }
    if (row.project_id === null) {
      this.deps.authorizer.check(actor, 'admin');
      return { row };
    }
    const p = await this.deps.db.selectFrom('projects').selectAll().where('id', '=', row.project_id).executeTakeFirstOrThrow();
    this.deps.authorizer.check(actor, action, { name: p.name, public: p.public === 1 });
    return { row };
  }

  /** Checks who may create a robot with these permissions; returns its project and full name. */
  private async scope(actor: Actor, level: 'project' | 'system', perms: RobotPermission[], name: string): Promise<{ project: ProjectRow | null; fullName: string }> {
    const projectNames = [...new Set(perms.filter((p) => p.kind === 'project' && p.namespace !== '*').map((p) => p.namespace))];
    const projects: ProjectRow[] = [];
    for (const n of projectNames) {
      const p = await this.deps.db.selectFrom('projects').selectAll().where('name', '=', n).executeTakeFirst();
      if (!p) {
        this.deps.authorizer.check(actor, 'admin');
        throw fail('NOT_FOUND', `project ${n} not found`);
      }
      projects.push(p);
    }
    const prefix = await this.prefix();
    if (level === 'system') {
      this.deps.authorizer.check(actor, 'admin');
      return { project: null, fullName: name.startsWith(prefix) ? name : `${prefix}${name}` };
    }
    const [project] = projects;
    if (!project || projects.length !== 1 || perms.some((p) => p.kind !== 'project' || p.namespace !== project.name)) {
      throw fail('BAD_REQUEST', 'a project robot needs exactly one permission of kind "project" whose namespace is its project');
    }
    this.deps.authorizer.check(actor, 'manage-robots', { name: project.name, public: project.public === 1 });
    const short = name.startsWith(`${prefix}${project.name}+`) ? name.slice(prefix.length + project.name.length + 1) : name;
    return { project, fullName: `${prefix}${project.name}+${short}` };
  }

  /** The prefix of new robot names: the setting, or Harbor's default. */
  private prefix(): Promise<string> {
    return this.deps.namePrefix ? this.deps.namePrefix() : Promise.resolve(robotPrefix);
  }
}

function view(r: RobotRow): RobotView {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    level: r.level === 'system' ? 'system' : 'project',
    duration: r.duration,
    editable: true,
    disable: r.disabled === 1,
    expires_at: r.expires_at,
    permissions: parseRobotPermissions(r.permissions),
    creation_time: new Date(r.creation_time).toISOString(),
    update_time: new Date(r.update_time).toISOString(),
  };
}
