/**
 * Harbor's labels: global ones (scope `g`, project_id 0, managed by the system admin) and project
 * ones (scope `p`, managed by the project's admins and maintainers), their CRUD with Harbor's
 * messages, and adding them to artifacts and removing them (a digest carries labels, not a tag).
 * Links go with their artifact or label (ON DELETE CASCADE). The SQL is in src/db/label-store.ts.
 */
import type { Kysely } from 'kysely';
import type { Database, LabelRow, ProjectRow } from '../db/index.ts';
import { addArtifactLabel, deleteLabel, insertLabel, isUniqueViolation, labelNameTaken, listLabels, readLabel, removeArtifactLabel, updateLabel, artifactHasLabel, type LabelFields } from '../db/index.ts';
import type { Action, Authorizer } from '../auth/index.ts';
import type { CallContext } from '../registry/index.ts';
import { fail, parseReference, type ListQuery, type Page, type TypedCondition } from '../domain/index.ts';
import type { Outbox } from '../events/index.ts';
import { projectRef } from '../registry/index.ts';
import { ProjectLookup, type ProjectKey } from './project-lookup.ts';

/** Harbor's Label object. */
export interface LabelView {
  id: number;
  name: string;
  description: string;
  color: string;
  scope: string;
  project_id: number;
  creation_time: string;
  update_time: string;
}

/** A label row as Harbor shows it. */
export function labelView(r: LabelRow): LabelView {
  return {
    id: Number(r.id),
    name: r.name,
    description: r.description,
    color: r.color,
    scope: r.scope,
    project_id: Number(r.project_id),
    creation_time: new Date(Number(r.creation_time)).toISOString(),
    update_time: new Date(Number(r.update_time)).toISOString(),
  };
}

/** Harbor's 400 for a `labels` condition that is not a parenthesised list of integers. */
const labelsQueryMessage = 'the value of "labels" query can only be integer list with intersetion relationship';

/** The label ids of Harbor's `q=labels=(1 2)` (the artifacts must carry all); BAD_REQUEST for any other form. */
export function parseLabelsCondition(c: TypedCondition): number[] {
  if (c.kind !== 'and') throw fail('BAD_REQUEST', labelsQueryMessage);
  return c.values.map((v) => {
    const s = String(v);
    if (!/^[0-9]{1,15}$/.test(s)) throw fail('BAD_REQUEST', labelsQueryMessage);
    return Number(s);
  });
}

/** The parts of a label request body Wharf reads; BAD_REQUEST when a field has the wrong type. */
interface LabelBody {
  name?: string;
  description?: string;
  color?: string;
  scope?: string;
  projectId?: number;
}

function readBody(body: unknown): LabelBody {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object');
  const o = body as Record<string, unknown>; // checked just above: a non-array object
  const out: LabelBody = {};
  for (const k of ['name', 'description', 'color', 'scope'] as const) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw fail('BAD_REQUEST', `${k} must be a string`);
    out[k] = v;
  }
  const pid = o['project_id'];
  if (pid !== undefined && pid !== null) {
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 0) throw fail('BAD_REQUEST', 'project_id must be a non-negative integer');
    out.projectId = pid;
  }
  return out;
}

/** Harbor's Label.Valid(), which Wharf applies on create as well as on update. */
function checkName(name: string | undefined): string {
  if (name === undefined || name.trim() === '') throw fail('BAD_REQUEST', 'label name is required');
  if (name.length > 128) throw fail('BAD_REQUEST', `label name is too long: at most 128 characters`);
  return name;
}

/** What the label service needs. */
export interface LabelServiceDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** ARTIFACT_LABELED goes to the outbox in the transaction that adds the label. */
  outbox: Outbox;
}

/** The filters of `GET /labels`. */
export interface LabelFilter {
  scope?: string;
  projectId?: string;
  name?: string;
}

/** Labels: CRUD and artifact links. */
export class LabelService {
  private readonly lookup: ProjectLookup;

  constructor(private readonly deps: LabelServiceDeps) {
    this.lookup = new ProjectLookup(deps.db, deps.authorizer);
  }

  /** The project a label id names (by id), with `action` checked. */
  private project(ctx: CallContext, projectId: number, action: Action): Promise<ProjectRow> {
    return this.lookup.project(ctx, { nameOrId: String(projectId), isName: false }, action);
  }

  /** Checks the right to change a label: the system admin for global labels, `manage-labels` in its project otherwise. */
  /**
   * Label writes are never open to anonymous callers or registry tokens (a token is worth only its
   * repository actions): they get 401/403 before the body or the label is looked at.
   */
  private refuseTokens(ctx: CallContext): void {
    if (ctx.actor.kind === 'anonymous' || ctx.actor.kind === 'token') this.deps.authorizer.check(ctx.actor, 'admin');
  }

  private async checkManage(ctx: CallContext, scope: string, projectId: number): Promise<void> {
    if (scope === 'g') this.deps.authorizer.check(ctx.actor, 'admin');
    else await this.project(ctx, projectId, 'manage-labels');
  }

  /** A label the caller may read; NOT_FOUND `label N not found`. */
  private async readable(ctx: CallContext, id: number): Promise<LabelRow> {
    const row = await readLabel(this.deps.db, id);
    if (!row) throw fail('NOT_FOUND', `label ${id} not found`);
    if (row.scope === 'p') await this.project(ctx, Number(row.project_id), 'read-labels');
    return row;
  }

  /** `GET /labels`: `scope` is mandatory, `p` needs `project_id`. */
  async list(ctx: CallContext, f: LabelFilter, list: ListQuery): Promise<Page<LabelView>> {
    const scope = f.scope ?? '';
    if (scope !== 'g' && scope !== 'p') throw fail('BAD_REQUEST', `invalid scope: ${scope}`);
    let projectId = 0;
    if (scope === 'p') {
      if (f.projectId === undefined || f.projectId === '') throw fail('BAD_REQUEST', 'must with project ID when to query project labels');
      if (!/^[0-9]{1,15}$/.test(f.projectId)) throw fail('BAD_REQUEST', `invalid project_id: ${f.projectId}`);
      projectId = (await this.project(ctx, Number(f.projectId), 'read-labels')).id;
    }
    const page = await listLabels(this.deps.db, scope, projectId, f.name, list);
    return { items: page.items.map(labelView), total: page.total };
  }

  /** `POST /labels`: returns the new id; CONFLICT `label <name> already exists`. */
  async create(ctx: CallContext, body: unknown): Promise<number> {
    this.refuseTokens(ctx);
    const b = readBody(body);
    if (b.scope !== 'g' && b.scope !== 'p') throw fail('BAD_REQUEST', 'unsupported label scope');
    const name = checkName(b.name);
    let projectId = 0;
    if (b.scope === 'p') {
      if (b.projectId === undefined || b.projectId === 0) throw fail('BAD_REQUEST', 'must with project ID when to create project labels');
      projectId = b.projectId;
    }
    await this.checkManage(ctx, b.scope, projectId);
    const fields: LabelFields = { name, description: b.description ?? '', color: b.color ?? '' };
    const scope = b.scope;
    try {
      return await this.deps.db.transaction().execute(async (trx) => {
        if (await labelNameTaken(trx, scope, projectId, name)) throw fail('CONFLICT', `label ${name} already exists`);
        return insertLabel(trx, scope, projectId, fields, Date.now());
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', `label ${name} already exists`);
      throw err;
    }
  }

  /** `GET /labels/{id}`. */
  async get(ctx: CallContext, id: number): Promise<LabelView> {
    return labelView(await this.readable(ctx, id));
  }

  /** `PUT /labels/{id}`: only name, description and color change. */
  async update(ctx: CallContext, id: number, body: unknown): Promise<void> {
    this.refuseTokens(ctx);
    const row = await readLabel(this.deps.db, id);
    if (!row) throw fail('NOT_FOUND', `label ${id} not found`);
    await this.checkManage(ctx, row.scope, Number(row.project_id));
    const b = readBody(body);
    const name = checkName(b.name ?? row.name);
    const fields: LabelFields = { name, description: b.description ?? row.description, color: b.color ?? row.color };
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        if (await labelNameTaken(trx, row.scope, Number(row.project_id), name, id)) throw fail('CONFLICT', `label ${name} already exists`);
        await updateLabel(trx, id, fields, Date.now());
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', `label ${name} already exists`);
      throw err;
    }
  }

  /** `DELETE /labels/{id}`: removes it from every artifact, then deletes it. */
  async delete(ctx: CallContext, id: number): Promise<void> {
    this.refuseTokens(ctx);
    const row = await readLabel(this.deps.db, id);
    if (!row) throw fail('NOT_FOUND', `label ${id} not found`);
    await this.checkManage(ctx, row.scope, Number(row.project_id));
    await this.deps.db.transaction().execute((trx) => deleteLabel(trx, id));
  }

  /** `POST …/artifacts/{reference}/labels` with `{"id": N}`: a global label, or one of the artifact's project. */
  async addToArtifact(ctx: CallContext, key: ProjectKey, repo: string, reference: string, body: unknown): Promise<void> {
    const { project, repository, fullName } = await this.lookup.repository(ctx, key, repo, 'label-artifact');
    const a = await this.lookup.artifact(repository, reference);
    const raw = body !== null && typeof body === 'object' && 'id' in body ? body.id : undefined;
    if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw <= 0) throw fail('BAD_REQUEST', 'id must be a positive integer');
    const label = await readLabel(this.deps.db, raw);
    if (!label) throw fail('NOT_FOUND', `label ${raw} not found`);
    if (label.scope === 'p' && Number(label.project_id) !== project.id) throw fail('NOT_FOUND', `project id ${project.id}, label ${raw} not found`);
    const conflict = fail('CONFLICT', `label ${raw} is already added to the artifact ${a.id}`);
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        if (await artifactHasLabel(trx, a.id, raw)) throw conflict;
        await addArtifactLabel(trx, a.id, raw, Date.now());
        const tags = await trx.selectFrom('tags').select('name').where('artifact_id', '=', a.id).orderBy('push_time', 'desc').orderBy('id', 'desc').execute();
        const tag = parseReference(reference).kind === 'tag' ? reference : null;
        await this.deps.outbox.append(trx, {
          type: 'ARTIFACT_LABELED',
          operator: ctx.actor.username,
          ...(ctx.request ? { request: ctx.request } : {}),
          project: projectRef(project),
          repository: { id: repository.id, name: fullName, creationTime: repository.creation_time },
          artifact: { digest: a.digest, mediaType: a.media_type, size: a.size, tag, tags: tags.map((t) => t.name), artifactType: a.artifact_type },
          label: { id: Number(label.id), name: label.name, scope: label.scope },
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict;
      throw err;
    }
  }

  /** `DELETE …/artifacts/{reference}/labels/{label_id}`. */
  async removeFromArtifact(ctx: CallContext, key: ProjectKey, repo: string, reference: string, labelId: number): Promise<void> {
    const { repository } = await this.lookup.repository(ctx, key, repo, 'label-artifact');
    const a = await this.lookup.artifact(repository, reference);
    const removed = await this.deps.db.transaction().execute((trx) => removeArtifactLabel(trx, a.id, labelId));
    if (!removed) throw fail('NOT_FOUND', `reference with label ${labelId} and artifact ${a.id} not found`);
  }
}
