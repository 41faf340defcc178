/**
 * What Harbor's clients read to find their way around a registry: `/search` (projects and
 * repositories by name), `/statistics` (project and repository counts, storage), `/systeminfo/volumes`
 * (the local disk) and `/icons/{digest}` (artifact icons). Reads only.
 */
import { statfs } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { CallContext, Registry } from '../registry/index.ts';
import { likeContains } from '../db/index.ts';
import { fail, parseDigest, parseRepoName, type Digest, type ListQuery, type Page, type TextFilter } from '../domain/index.ts';
import { iconAnnotation } from './content-reads.ts';
import { parseJsonObject, type ProjectView } from './project-views.ts';

/** Harbor's SearchRepository. */
export interface SearchRepository {
  project_id: number;
  project_name: string;
  project_public: boolean;
  repository_name: string;
  pull_count: number;
  artifact_count: number;
}

/** Harbor's Search. */
export interface SearchResult {
  project: ProjectView[];
  repository: SearchRepository[];
}

/** Harbor's Statistic (every field present, as its `x-omitempty: false` says). */
export interface Statistic {
  private_project_count: number;
  private_repo_count: number;
  public_project_count: number;
  public_repo_count: number;
  total_project_count: number;
  total_repo_count: number;
  total_storage_consumption: number;
}

/** Harbor's SystemInfo of `/systeminfo/volumes`. */
export interface VolumeInfo {
  storage: Array<{ total: number; free: number }>;
}

/** Harbor's Icon (note the hyphen in `content-type`, as Harbor's swagger spells it). */
export interface IconView {
  'content-type': string;
  content: string;
}

/** What discovery needs. */
export interface DiscoveryDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  config: Pick<Config, 'data_dir' | 'storage'>;
  /** Reads icon layers (with the caller's pull permission). */
  registry: Pick<Registry, 'readBlob'>;
  /** The project list as the caller may see it, with Harbor's Project objects (src/projects/project-admin.ts). */
  listProjects(ctx: CallContext, filter: { name?: TextFilter }, list: ListQuery): Promise<Page<ProjectView>>;
}

/** Harbor limits an icon to 1 MiB. */
const iconLimit = 1024 * 1024;

/** The image types Harbor accepts as icons, by their first bytes. */
function imageType(b: Buffer): string | null {
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b.length >= 6 && (b.subarray(0, 6).toString('latin1') === 'GIF87a' || b.subarray(0, 6).toString('latin1') === 'GIF89a')) return 'image/gif';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  return null;
}

/** Search, statistics, volumes and icons. */
export class Discovery {
  constructor(private readonly deps: DiscoveryDeps) {}

  /**
   * Harbor's search: the projects the caller may see whose name contains `q` (case-sensitive, as
   * Harbor's), and the repositories of the projects the caller may see whose name contains `q` in any
   * case (Harbor's repository match is a case-insensitive LIKE). Anonymous callers and robots see
   * public projects only; users their member projects too; the system admin every project. No paging.
   */
  async search(ctx: CallContext, q: string): Promise<SearchResult> {
    const everything: ListQuery = { page: 1, pageSize: Number.MAX_SAFE_INTEGER, filters: new Map(), sort: [] };
    const visible = (await this.deps.listProjects(ctx, {}, everything)).items.filter(
      (p) => ctx.actor.sysadmin || ctx.actor.kind === 'user' || (ctx.actor.kind === 'token' && ctx.actor.account?.kind === 'user') || p.metadata.public === 'true',
    );
    const byId = new Map(visible.map((p) => [p.project_id, p]));
    const repos = await this.deps.db
      .selectFrom('repositories')
      .select(['id', 'project_id', 'name', 'pull_count'])
      .where(likeContains('name', q))
      .orderBy('name')
      .orderBy('id')
      .execute();
    const seen = repos.filter((r) => byId.has(r.project_id));
    const counts = new Map<number, number>();
    if (seen.length > 0) {
      const rows = await this.deps.db
        .selectFrom('artifacts')
        .innerJoin('repositories', 'repositories.id', 'artifacts.repository_id')
        .select(['artifacts.repository_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where(likeContains('repositories.name', q))
        .groupBy('artifacts.repository_id')
        .execute();
      for (const r of rows) counts.set(r.repository_id, Number(r.n));
    }
    return {
      project: visible.filter((p) => p.name.includes(q)),
      repository: seen.map((r) => {
        const p = byId.get(r.project_id);
        return {
          project_id: r.project_id,
          project_name: p?.name ?? '',
          project_public: p?.metadata.public === 'true',
          repository_name: r.name,
          pull_count: r.pull_count,
          artifact_count: counts.get(r.id) ?? 0,
        };
      }),
    };
  }

  /**
   * Harbor's statistics, for signed-in callers: public projects and their repositories for everyone;
   * the system admin also the totals, the private counts (totals minus public) and the storage of
   * every blob; a user the private projects they are a member of and their repositories (robots
   * none), with the totals and storage 0.
   */
  async statistics(ctx: CallContext): Promise<Statistic> {
    if (ctx.actor.username === '') throw fail('UNAUTHORIZED', 'unauthorized');
    const projects = await this.deps.db.selectFrom('projects').select(['id', 'name', 'public']).execute();
    const repoCounts = await this.deps.db
      .selectFrom('repositories')
      .select(['project_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('project_id')
      .execute();
    const reposOf = new Map(repoCounts.map((r) => [r.project_id, Number(r.n)]));
    const sum = (ps: typeof projects): number => ps.reduce((n, p) => n + (reposOf.get(p.id) ?? 0), 0);
    const pub = projects.filter((p) => p.public === 1);
    const out: Statistic = {
      private_project_count: 0,
      private_repo_count: 0,
      public_project_count: pub.length,
      public_repo_count: sum(pub),
      total_project_count: 0,
      total_repo_count: 0,
      total_storage_consumption: 0,
    };
    if (ctx.actor.sysadmin) {
      const storage = await this.deps.db.selectFrom('blobs').select((eb) => eb.fn.sum<number | string | null>('size').as('n')).executeTakeFirst();
      out.total_project_count = projects.length;
      out.total_repo_count = sum(projects);
      out.private_project_count = out.total_project_count - out.public_project_count;
      out.private_repo_count = out.total_repo_count - out.public_repo_count;
      out.total_storage_consumption = Number(storage?.n ?? 0);
      return out;
    }
    const user = ctx.actor.kind === 'token' ? ctx.actor.account : ctx.actor;
    if (user?.kind !== 'user') return out;
    const mine = projects.filter((p) => p.public !== 1 && user.roles?.has(p.name) === true);
    out.private_project_count = mine.length;
    out.private_repo_count = sum(mine);
    return out;
  }

  /**
   * The total and free bytes of the local file system holding the blobs (`storage.root`) or, with
   * the S3 driver, the data folder (`data_dir`: the database and uploads): Harbor's volumes also
   * report the local disk only. The system admin's.
   */
  async volumes(ctx: CallContext): Promise<VolumeInfo> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const path = this.deps.config.storage.driver === 'filesystem' ? this.deps.config.storage.root : this.deps.config.data_dir;
    let s;
    try {
      s = await statfs(path);
    } catch {
      // The blob folder is created on the first push: measure the data folder until then.
      s = await statfs(this.deps.config.data_dir);
    }
    return { storage: [{ total: s.blocks * s.bsize, free: s.bavail * s.bsize }] };
  }

  /**
   * An artifact's icon by its digest: a layer annotated `io.goharbor.artifact.v1alpha1.icon` of an
   * artifact in a project the caller may pull from, a PNG, GIF or JPEG of at most 1 MiB, returned
   * as it is (base64). Harbor's built-in icons of artifact types are not served (Wharf's artifacts
   * name none), nor an icon only a project the caller cannot read holds: 404 as Harbor's unknown icon.
   */
  async icon(ctx: CallContext, digest: string): Promise<IconView> {
    const notFound = () => fail('NOT_FOUND', `the icon ${digest} not found`);
    let d: Digest;
    try {
      d = parseDigest(digest);
    } catch {
      throw notFound();
    }
    const refs = await this.deps.db
      .selectFrom('artifact_references')
      .innerJoin('artifacts', 'artifacts.id', 'artifact_references.artifact_id')
      .innerJoin('repositories', 'repositories.id', 'artifacts.repository_id')
      .innerJoin('projects', 'projects.id', 'repositories.project_id')
      .select(['artifact_references.annotations', 'repositories.name as repository', 'projects.name as project', 'projects.public'])
      .where('artifact_references.kind', '=', 'blob')
      .where('artifact_references.child_digest', '=', d)
      .where('artifact_references.annotations', 'is not', null)
      .orderBy('artifacts.id')
      .execute();
    const ref = refs.find(
      (r) => Object.hasOwn(parseJsonObject(r.annotations) ?? {}, iconAnnotation) && this.deps.authorizer.allows(ctx.actor, 'pull', { name: r.project, public: r.public === 1 }),
    );
    if (!ref) throw notFound();
    const { info, stream } = await this.deps.registry.readBlob(ctx, parseRepoName(ref.repository), d);
    if (info.size > iconLimit) {
      stream.destroy();
      throw fail('NOT_FOUND', `the icon ${digest} is larger than 1 MiB`);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    const bytes = Buffer.concat(chunks);
    const type = imageType(bytes);
    if (!type) throw fail('NOT_FOUND', `the icon ${digest} is not a PNG, GIF or JPEG image`);
    return { 'content-type': type, content: bytes.toString('base64') };
  }
}
