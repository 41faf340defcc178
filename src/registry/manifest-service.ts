/**
 * The manifest side of the registry: manifests, tags, referrers, the catalog and repository
 * deletion. Manifests are stored byte-for-byte (src/registry/manifest-bytes.ts); their bytes, metadata
 * (Harbor's artifacts), what they reference, their tags and the events describing each change are
 * written in ONE transaction, so a committed change always has its event and a failed one never does.
 *
 * Choices where the OCI spec leaves room (docs/registry.md says the same):
 * - a manifest over `registry.max_manifest_bytes` is SIZE_INVALID;
 * - DELETE by tag removes only the tag (OCI); DELETE by digest removes the artifact and its tags;
 * - a manifest that an index of the same repository lists cannot be deleted while that index
 *   exists (DENIED, since /v2 has no 412);
 * - the `subject` of a manifest need not exist; referrers of a digest are listed either way.
 */
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import {
  digestAlgorithm,
  effectiveArtifactType,
  fail,
  isValidTag,
  makeDigest,
  ociIndex,
  parseManifest,
  projectOf,
  type Descriptor,
  type Digest,
  type ParsedManifest,
  type Reference,
  type RepoName,
} from '../domain/index.ts';
import type { ArtifactRow, Database, ProjectRow, RepositoryRow } from '../db/index.ts';
import { GroupCommit, artifactRefsPg, chunks, isIndexChild, isPostgres, isTagged, registryStore } from '../db/index.ts';
import type { ArtifactRef, IndexPlatform, NewEvent } from '../events/index.ts';
import { tracedTransaction } from '../observability/index.ts';
import type { Action } from '../auth/index.ts';
import type { RegistryDeps } from './registry-service.ts';
import { findRepository, maxRepositoryDescriptionLength, touchOrCreateRepository, projectForRepo, projectRef, projectUnknown, repositoryRef } from './repositories.ts';
import type { CallContext, ManifestContent, NamePage, Registry } from './types.ts';
import { ManifestLookups } from './manifest-lookups.ts';
import { PullRecorder } from './pull-recorder.ts';
import { readManifestBytes } from './manifest-bytes.ts';
import { gateApplies } from './pull-gate.ts';
import { immutableDeleteError, immutablePushError, immutableUpdateError, pathInProject, type ImmutableTagTest } from './immutability-guard.ts';

type Trx = Transaction<Database>;

/** Largest page the tag list and the catalog return, whatever `n` asks for (a Link header follows). */
export const maxPageSize = 10_000;

/** Implements the manifest half of {@link Registry}. */
export class ManifestService
  implements Pick<Registry, 'putManifest' | 'getManifest' | 'deleteManifest' | 'listTags' | 'createTag' | 'deleteTag' | 'deleteRepository' | 'setRepositoryDescription' | 'catalog' | 'referrers'>
{
  /** Manifest bytes by digest: content-addressed, so a cached entry is always valid. */
  private readonly manifestBytes = new ByteLru(32 * 1024 * 1024);

  /** Records GETs in batches (one transaction per batch). */
  readonly pulls: PullRecorder;

  /** Manifest, tag and repository writes, committed in groups. */
  private readonly writes: GroupCommit<Database>;

  /** The GET and HEAD lookups (batched on PostgreSQL). */
  private readonly lookups: ManifestLookups;

  constructor(private readonly deps: RegistryDeps) {
    this.pulls = new PullRecorder(deps.db, deps.outbox, deps.logger);
    this.writes = new GroupCommit(deps.db);
    this.lookups = new ManifestLookups(deps.db);
  }

  /** The project of `repo`, after checking that the caller may do `action` in it. */
  private async authorize(ctx: CallContext, repo: RepoName, action: Action): Promise<ProjectRow> {
    const project = await projectForRepo(this.deps.db, repo);
    this.deps.authorizer.check(ctx.actor, action, { name: project.name, public: project.public === 1 }, repo);
    return project;
  }

  /** The repository row, or `code` (NAME_UNKNOWN on /v2, NOT_FOUND for the Harbor API) when it does not exist. */
  private async repository(repo: RepoName, code: 'NAME_UNKNOWN' | 'NOT_FOUND'): Promise<RepositoryRow> {
    const row = await findRepository(this.deps.db, repo);
    if (!row) throw fail(code, `repository ${repo} not found`, { name: repo });
    return row;
  }

  /**
   * Runs `fn` in a transaction shared with the other writes of the same event-loop turn (group
   * commit, src/db/group-commit.ts), retried when a concurrent writer won a unique-constraint race
   * or held the lock; resolves once committed.
   */
  private transact<T>(fn: (trx: Trx) => Promise<T>): Promise<T> {
    // With tracing on: a span, in the caller's trace (the group runs in a turn of its own).
    return this.writes.run(tracedTransaction('manifest write', fn));
  }

  /** PUT /v2/<name>/manifests/<reference>. */
  async putManifest(ctx: CallContext, repo: RepoName, ref: Reference, contentType: string, body: Buffer): Promise<{ digest: Digest; subject: Digest | null }> {
    // The project and the repository in one statement (src/db/registry-store.ts); checked as authorize() does.
    const target = await registryStore.projectAndRepository(this.deps.db, projectOf(repo), repo);
    if (!target) throw projectUnknown(repo);
    const { project, repository: repoRow } = target;
    this.deps.authorizer.check(ctx.actor, 'push', { name: project.name, public: project.public === 1 }, repo);
    const limit = this.deps.config.registry.max_manifest_bytes;
    if (body.length > limit) {
      throw fail('SIZE_INVALID', `manifest is ${body.length} bytes; the limit is ${limit} (registry.max_manifest_bytes)`, { size: body.length, limit });
    }
    const parsed = parseManifest(body, contentType);
    const alg = ref.kind === 'digest' ? digestAlgorithm(ref.digest) : 'sha256';
    const digest = makeDigest(alg, createHash(alg).update(body).digest('hex'));
    if (ref.kind === 'digest' && ref.digest !== digest) {
      throw fail('DIGEST_INVALID', `manifest digest ${digest} does not match the reference ${ref.digest}`, { digest: ref.digest, computed: digest });
    }

    // Everything the manifest references must already be in this repository (the subject excepted).
    const blobSizes = await this.linkedBlobSizes(repoRow, parsed.blobs);
    const childSizes = await this.childArtifactSizes(repoRow, parsed.manifests);

    // Quota: the manifest bytes and every blob it references count once per project; refused before the bytes are stored.
    const quotaItems = [{ digest, size: body.length }, ...[...blobSizes].map(([d, size]) => ({ digest: d, size }))];
    const quotaTag = ref.kind === 'tag' ? ref.tag : null;
    const quotaArtifact: ArtifactRef = { digest, mediaType: parsed.mediaType, size: body.length, tag: quotaTag, tags: quotaTag ? [quotaTag] : [], artifactType: effectiveArtifactType(parsed) };
    const quotaSubject = { ctx, project, repository: repo, repositoryRef: repoRow ? repositoryRef(repoRow) : null, artifact: quotaArtifact };
    const quotas = this.deps.quotas;
    if (quotas) await quotas.guard(() => quotas.precheck(quotaSubject, quotaItems));

    this.deps.metrics.bytesIn.inc(body.length);
    // Tag immutability: a cached answer (null for projects without rules); the tag is checked in the transaction.
    const immutable = ref.kind === 'tag' ? await this.immutableTags(project) : null;
    const refusePush = immutable && ref.kind === 'tag' && immutable(pathInProject(repo), ref.tag) ? () => immutablePushError(repo, ref.tag) : null;

    const record = () => this.transact(async (trx) => {
      const now = Date.now();
      // The repository first (lock order: repositories, artifacts, tags, the outbox last), read,
      // touched and locked in one statement; then the manifest's blob, bytes and repository link
      // (one statement on PostgreSQL, src/db/registry-store.ts).
      const repository = await touchOrCreateRepository(trx, this.deps.outbox, ctx, project, repo, now);
      await registryStore.storeManifest(trx, { digest, content: body, repositoryId: repository.id, now });
      await quotas?.charge(trx, { ...quotaSubject, repositoryRef: repositoryRef(repository) }, quotaItems);

      const size =
        body.length +
        parsed.blobs.reduce((sum, b) => sum + (blobSizes.get(b.digest) ?? b.size), 0) +
        parsed.manifests.reduce((sum, m) => sum + (childSizes.get(m.digest) ?? m.size), 0);
      const { artifact, created, tagCreated } = await this.upsertArtifact(trx, repository.id, digest, parsed, body.length, size, now, ref.kind === 'tag' ? ref.tag : null);

      let tagChanged = false;
      if (ref.kind === 'tag') tagChanged = tagCreated || (await this.setTag(trx, repository.id, artifact.id, ref.tag, now, refusePush));

      const tag = ref.kind === 'tag' ? ref.tag : null;
      // A new artifact has no tag but the one this push set.
      const tags = created ? (tag === null ? [] : [tag]) : await tagsOf(trx, artifact.id);
      const base = { operator: ctx.actor.username, request: ctx.request, project: projectRef(project), repository: repositoryRef(repository) };
      // One INSERT for both events (on PostgreSQL one round trip with the outbox lock).
      // An index's push lists its manifests and their platforms (for policies that fold platforms).
      const platforms = parsed.kind === 'index' ? { platforms: parsed.manifests.map(indexPlatform) } : {};
      const events: NewEvent[] = [{ ...base, type: 'PUSH_ARTIFACT', artifact: artifactRef(artifact, tag, tags), ...platforms }];
      if (tagChanged) events.push({ ...base, type: 'CREATE_TAG', artifact: artifactRef(artifact, tag, tags) });
      await this.deps.outbox.appendMany(trx, events);
    });
    await (quotas ? quotas.guard(record) : record());
    return { digest, subject: parsed.subject?.digest ?? null };
  }

  /** Sizes of the referenced blobs linked to the repository; MANIFEST_BLOB_UNKNOWN naming the first missing one. */
  private async linkedBlobSizes(repoRow: RepositoryRow | null, blobs: Descriptor[]): Promise<Map<string, number>> {
    // Foreign (non-distributable) layers with URLs are fetched from elsewhere; the registry need not hold them.
    const wanted = [...new Set(blobs.filter((b) => b.urls === null).map((b) => b.digest))];
    const sizes = new Map<string, number>();
    if (wanted.length > 0 && repoRow) {
      for (const chunk of chunks(wanted, 500)) {
        const rows = await this.deps.db
          .selectFrom('repository_blobs')
          .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
          .select(['blobs.digest', 'blobs.size'])
          .where('repository_blobs.repository_id', '=', repoRow.id)
          .where('repository_blobs.digest', 'in', chunk)
          .execute();
        for (const r of rows) sizes.set(r.digest, r.size);
      }
    }
    const missing = wanted.find((d) => !sizes.has(d));
    if (missing !== undefined) {
      const desc = blobs.find((b) => b.digest === missing);
      throw fail('MANIFEST_BLOB_UNKNOWN', `blob ${missing} (${desc?.mediaType ?? 'blob'}) is not in repository ${repoRow?.name ?? 'yet'}: push it first`, {
        digest: missing,
      });
    }
    return sizes;
  }

  /** Sizes of an index's child manifests in the repository; MANIFEST_BLOB_UNKNOWN naming the first missing one. */
  private async childArtifactSizes(repoRow: RepositoryRow | null, children: Descriptor[]): Promise<Map<string, number>> {
    const wanted = [...new Set(children.map((c) => c.digest))];
    const sizes = new Map<string, number>();
    if (wanted.length > 0 && repoRow) {
      for (const chunk of chunks(wanted, 500)) {
        const rows = await this.deps.db
          .selectFrom('artifacts')
          .select(['digest', 'size'])
          .where('repository_id', '=', repoRow.id)
          .where('digest', 'in', chunk)
          .execute();
        for (const r of rows) sizes.set(r.digest, r.size);
      }
    }
    const missing = wanted.find((d) => !sizes.has(d));
    if (missing !== undefined) {
      throw fail('MANIFEST_BLOB_UNKNOWN', `manifest ${missing} listed by the index is not in repository ${repoRow?.name ?? 'yet'}: push it first`, {
        digest: missing,
      });
    }
    return sizes;
  }

  /**
   * Inserts the artifact and its references (a push of a new digest); when the repository has the
   * digest already, only moves its push_time (`created` false). On PostgreSQL, given `tag`, the
   * same statement creates the tag if it is new (`tagCreated`; registry-store.ts, insertArtifactPg).
   */
  private async upsertArtifact(
    trx: Trx,
    repositoryId: number,
    digest: Digest,
    m: ParsedManifest,
    manifestSize: number,
    size: number,
    now: number,
    tag: string | null,
  ): Promise<{ artifact: ArtifactRow; created: boolean; tagCreated: boolean }> {
    const row = {
      repository_id: repositoryId,
      digest,
      media_type: m.mediaType,
      artifact_type: effectiveArtifactType(m),
      config_media_type: m.config?.mediaType ?? null,
      size,
      manifest_size: manifestSize,
      subject_digest: m.subject?.digest ?? null,
      annotations: m.annotations ? JSON.stringify(m.annotations) : null,
      push_time: now,
      pull_time: null,
    };
    const refs = [
      ...m.blobs.map((b) => ({ kind: 'blob' as const, d: b })),
      ...m.manifests.map((c) => ({ kind: 'manifest' as const, d: c })),
    ].map(({ kind, d }) => ({
      kind,
      child_digest: d.digest,
      size: d.size,
      media_type: d.mediaType,
      platform: d.platform ? JSON.stringify(d.platform) : null,
      annotations: d.annotations ? JSON.stringify(d.annotations) : null,
    }));
    // Insert first: a new artifact (the common push) costs one statement on PostgreSQL (its
    // references and new tag with it), two on SQLite; a re-push three more.
    if (isPostgres(trx) && refs.length <= artifactRefsPg) {
      const r = await registryStore.insertArtifactPg(trx, row, refs, tag);
      if (r.artifact) return { artifact: r.artifact, created: true, tagCreated: r.tagCreated };
    } else {
      const artifact = await trx.insertInto('artifacts').values(row).onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing()).returningAll().executeTakeFirst();
      if (artifact) {
        for (const chunk of chunks(refs, 100)) await trx.insertInto('artifact_references').values(chunk.map((r) => ({ ...r, artifact_id: artifact.id }))).execute();
        return { artifact, created: true, tagCreated: false };
      }
    }
    const existing = await trx.selectFrom('artifacts').selectAll().where('repository_id', '=', repositoryId).where('digest', '=', digest).executeTakeFirstOrThrow();
    await trx.updateTable('artifacts').set({ push_time: now }).where('id', '=', existing.id).execute();
    return { artifact: { ...existing, push_time: now }, created: false, tagCreated: false };
  }

  /**
   * Points `tag` at the artifact; true when the tag was created or moved from another artifact.
   * `refuse` (an immutable tag) builds the error thrown when the tag exists already, same digest or not.
   */
  private async setTag(trx: Trx, repositoryId: number, artifactId: number, tag: string, now: number, refuse: (() => Error) | null): Promise<boolean> {
    // Insert first: a new tag (the common push) costs one statement.
    const created = await trx
      .insertInto('tags')
      .values({ repository_id: repositoryId, artifact_id: artifactId, name: tag, push_time: now, pull_time: null })
      .onConflict((oc) => oc.columns(['repository_id', 'name']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (created) return true;
    if (refuse) throw refuse();
    const existing = await trx.selectFrom('tags').selectAll().where('repository_id', '=', repositoryId).where('name', '=', tag).executeTakeFirstOrThrow();
    await trx.updateTable('tags').set({ artifact_id: artifactId, push_time: now }).where('id', '=', existing.id).execute();
    return existing.artifact_id !== artifactId;
  }

  /** GET (pull = true) or HEAD (pull = false) /v2/<name>/manifests/<reference>. */
  async getManifest(ctx: CallContext, repo: RepoName, ref: Reference, pull: boolean): Promise<ManifestContent> {
    // One statement for the project, the repository and the artifact (src/db/registry-store.ts;
    // on PostgreSQL shared by the GETs of one turn, ./manifest-lookups.ts), checked in the order
    // the separate lookups were: project, permission, repository, artifact.
    const target = await this.lookups.target({ projectName: projectOf(repo), repoName: repo, reference: ref.kind === 'tag' ? ref.tag : ref.digest, byDigest: ref.kind === 'digest' });
    if (!target) throw projectUnknown(repo);
    const { project, repository, artifact } = target;
    this.deps.authorizer.check(ctx.actor, 'pull', { name: project.name, public: project.public === 1 }, repo);
    if (!repository) throw fail('NAME_UNKNOWN', `repository ${repo} not found`, { name: repo });
    if (!artifact) throw manifestUnknown(repo, ref);
    if (this.deps.pullGate && gateApplies(project.metadata)) await this.deps.pullGate.check({ ctx, project, repository: repo, artifact });
    // The artifact's digest was validated when it was pushed.
    const digest = artifact.digest as Digest;
    let body = this.manifestBytes.get(digest);
    if (!body) {
      const stored = await readManifestBytes(this.deps.db, this.deps.blobs, digest);
      if (!stored) {
        this.deps.logger.error({ repo, digest }, 'manifest metadata exists but its bytes are missing from storage');
        throw manifestUnknown(repo, ref);
      }
      body = stored;
      this.manifestBytes.set(digest, body);
    }
    // Group commit (pull-recorder.ts): resolves once the pull and its PULL_ARTIFACT are committed.
    if (pull) await this.pulls.record({ ctx, project, repository, artifact, tag: ref.kind === 'tag' ? ref.tag : null });
    return { digest, mediaType: artifact.media_type, body };
  }

  /** DELETE /v2/<name>/manifests/<reference>: by digest the artifact and its tags, by tag only the tag. */
  async deleteManifest(ctx: CallContext, repo: RepoName, ref: Reference, opts: { dependents?: boolean } = {}): Promise<void> {
    const project = await this.authorize(ctx, repo, 'delete');
    const repository = await this.repository(repo, 'NAME_UNKNOWN');
    if (ref.kind === 'tag') {
      await this.removeTag(ctx, project, repository, ref.tag, () => manifestUnknown(repo, ref));
      return;
    }
    // Read before the transaction: on SQLite a query outside it would wait for its one connection.
    const immutable = await this.immutableTags(project);
    await this.transact(async (trx) => {
      const artifact = await trx.selectFrom('artifacts').selectAll().where('repository_id', '=', repository.id).where('digest', '=', ref.digest).executeTakeFirst();
      if (!artifact) throw manifestUnknown(repo, ref);
      const parent = await trx
        .selectFrom('artifact_references')
        .innerJoin('artifacts', 'artifacts.id', 'artifact_references.artifact_id')
        .select('artifacts.digest')
        .where('artifacts.repository_id', '=', repository.id)
        .where('artifact_references.kind', '=', 'manifest')
        .where('artifact_references.child_digest', '=', ref.digest)
        .executeTakeFirst();
      if (parent) {
        throw fail('DENIED', `manifest ${ref.digest} is part of index ${parent.digest} in ${repo}: delete the index first`, {
          digest: ref.digest,
          index: parent.digest,
        });
      }
      const children = opts.dependents ? await this.childDigestsOf(trx, artifact.id) : [];
      await this.removeArtifact(trx, ctx, project, repository, artifact, immutable);
      if (opts.dependents) await this.removeDependents(trx, ctx, project, repository, [artifact.digest], children, immutable);
    });
  }

  /**
   * Removes, after their parents (gone already in this transaction), the untagged manifests a
   * parent left behind: `children` (digests a removed index referenced) that no remaining artifact
   * of the repository references, and accessories whose subject is a removed digest. Level by
   * level, each with its DELETE_ARTIFACT.
   */
  private async removeDependents(trx: Trx, ctx: CallContext, project: ProjectRow, repository: RepositoryRow, parents: string[], children: string[], immutable: ImmutableTagTest | null): Promise<void> {
    // Bounded: each level removes rows, and a manifest cannot reference itself.
    for (let depth = 0; (parents.length > 0 || children.length > 0) && depth < 8; depth++) {
      const orphans = await trx
        .selectFrom('artifacts as a')
        .selectAll('a')
        .where('a.repository_id', '=', repository.id)
        .where((eb) => eb.or([...(children.length ? [eb('a.digest', 'in', children)] : []), ...(parents.length ? [eb('a.subject_digest', 'in', parents)] : [])]))
        .where((eb) => eb.not(isTagged(eb)))
        .where((eb) => eb.not(isIndexChild(eb, repository.id)))
        .orderBy('a.id')
        .execute();
      const next: string[] = [];
      for (const o of orphans) {
        next.push(...(await this.childDigestsOf(trx, o.id)));
        await this.removeArtifact(trx, ctx, project, repository, o, immutable);
      }
      parents = orphans.map((o) => o.digest);
      children = next;
    }
  }

  private async childDigestsOf(trx: Trx, artifactId: number): Promise<string[]> {
    const rows = await trx.selectFrom('artifact_references').select('child_digest').where('artifact_id', '=', artifactId).where('kind', '=', 'manifest').execute();
    return rows.map((r) => r.child_digest);
  }

  /** The project's immutable-tag test (RegistryDeps.immutability), or null when no tag of it is immutable. */
  private async immutableTags(project: ProjectRow): Promise<ImmutableTagTest | null> {
    return this.deps.immutability ? this.deps.immutability.immutableTags(project.id) : null;
  }

  /**
   * Deletes an artifact row (its tags and references cascade), unlinks its manifest blob, records
   * DELETE_ARTIFACT; refused when `immutable` (the project's test, read before the transaction) holds one of its tags.
   */
  private async removeArtifact(trx: Trx, ctx: CallContext, project: ProjectRow, repository: RepositoryRow, artifact: ArtifactRow, immutable: ImmutableTagTest | null): Promise<void> {
    const tags = await tagsOf(trx, artifact.id);
    const held = immutable ? tags.find((t) => immutable(pathInProject(repository.name), t)) : undefined;
    if (held !== undefined) throw immutableDeleteError(held);
    const referenced = await trx.selectFrom('artifact_references').select('child_digest').where('artifact_id', '=', artifact.id).execute();
    await trx.deleteFrom('tags').where('artifact_id', '=', artifact.id).execute();
    await trx.deleteFrom('artifact_references').where('artifact_id', '=', artifact.id).execute();
    await trx.deleteFrom('artifacts').where('id', '=', artifact.id).execute();
    await trx.deleteFrom('repository_blobs').where('repository_id', '=', repository.id).where('digest', '=', artifact.digest).execute();
    // Quota: blobs no artifact of the project references any more leave its usage.
    await this.deps.quotas?.release(trx, project.id, [artifact.digest, ...referenced.map((r) => r.child_digest)]);
    await this.deps.outbox.append(trx, {
      type: 'DELETE_ARTIFACT',
      operator: ctx.actor.username,
      request: ctx.request,
      project: projectRef(project),
      repository: repositoryRef(repository),
      artifact: artifactRef(artifact, null, tags),
    });
  }

  /** Removes one tag (the artifact stays) and records DELETE_TAG; `unknown` builds the error for a missing tag. */
  private async removeTag(ctx: CallContext, project: ProjectRow, repository: RepositoryRow, tag: string, unknown: () => Error): Promise<void> {
    const immutable = await this.immutableTags(project);
    await this.transact(async (trx) => {
      const row = await trx
        .selectFrom('tags')
        .innerJoin('artifacts', 'artifacts.id', 'tags.artifact_id')
        .selectAll('artifacts')
        .select('tags.id as tag_id')
        .where('tags.repository_id', '=', repository.id)
        .where('tags.name', '=', tag)
        .executeTakeFirst();
      if (!row) throw unknown();
      if (immutable && immutable(pathInProject(repository.name), tag)) throw immutableDeleteError(tag);
      await trx.deleteFrom('tags').where('id', '=', row.tag_id).execute();
      const tags = await tagsOf(trx, row.id);
      await this.deps.outbox.append(trx, {
        type: 'DELETE_TAG',
        operator: ctx.actor.username,
        request: ctx.request,
        project: projectRef(project),
        repository: repositoryRef(repository),
        artifact: artifactRef(row, tag, tags),
      });
    });
  }

  /** GET /v2/<name>/tags/list: tags in lexical order after `last`, at most `n`. */
  async listTags(ctx: CallContext, repo: RepoName, n: number | null, last: string | null): Promise<NamePage> {
    await this.authorize(ctx, repo, 'pull');
    const repository = await this.repository(repo, 'NAME_UNKNOWN');
    const limit = pageLimit(n);
    if (limit === 0) return { names: [], next: null };
    let q = this.deps.db.selectFrom('tags').select('name').where('repository_id', '=', repository.id).orderBy('name');
    if (last !== null) q = q.where('name', '>', last);
    if (limit !== null) q = q.limit(limit + 1);
    const names = (await q.execute()).map((r) => r.name);
    return page(names, limit);
  }

  /** Tags an existing artifact without a push (Harbor API); CONFLICT when the tag is on another artifact. */
  async createTag(ctx: CallContext, repo: RepoName, digest: Digest, tag: string): Promise<void> {
    const project = await this.authorize(ctx, repo, 'create-tag');
    if (!isValidTag(tag)) throw fail('BAD_REQUEST', `invalid tag ${JSON.stringify(tag)}: tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`, { tag });
    const repository = await this.repository(repo, 'NOT_FOUND');
    const immutable = await this.immutableTags(project);
    await this.transact(async (trx) => {
      const artifact = await trx.selectFrom('artifacts').selectAll().where('repository_id', '=', repository.id).where('digest', '=', digest).executeTakeFirst();
      if (!artifact) throw fail('NOT_FOUND', `artifact ${digest} not found in ${repo}`, { name: repo, digest });
      const existing = await trx.selectFrom('tags').selectAll().where('repository_id', '=', repository.id).where('name', '=', tag).executeTakeFirst();
      if (existing && existing.artifact_id !== artifact.id && immutable && immutable(pathInProject(repo), tag)) throw immutableUpdateError(tag);
      if (existing && existing.artifact_id !== artifact.id) {
        throw fail('CONFLICT', `tag ${tag} already exists in ${repo} on another artifact`, { name: repo, tag });
      }
      if (existing) return;
      await trx.insertInto('tags').values({ repository_id: repository.id, artifact_id: artifact.id, name: tag, push_time: Date.now(), pull_time: null }).execute();
      await this.deps.outbox.append(trx, {
        type: 'CREATE_TAG',
        operator: ctx.actor.username,
        request: ctx.request,
        project: projectRef(project),
        repository: repositoryRef(repository),
        artifact: artifactRef(artifact, tag, await tagsOf(trx, artifact.id)),
      });
    });
  }

  /** Deletes a tag (Harbor API); the artifact stays. */
  async deleteTag(ctx: CallContext, repo: RepoName, tag: string): Promise<void> {
    const project = await this.authorize(ctx, repo, 'delete-tag');
    const repository = await this.repository(repo, 'NOT_FOUND');
    await this.removeTag(ctx, project, repository, tag, () => fail('NOT_FOUND', `tag ${tag} not found in ${repo}`, { name: repo, tag }));
  }

  /** Deletes a repository: one DELETE_ARTIFACT per root artifact, then DELETE_REPOSITORY. */
  async deleteRepository(ctx: CallContext, repo: RepoName): Promise<void> {
    const project = await this.authorize(ctx, repo, 'delete');
    const repository = await this.repository(repo, 'NOT_FOUND');
    const immutable = await this.immutableTags(project);
    await this.transact(async (trx) => {
      if (immutable) {
        const names = await trx.selectFrom('tags').select('name').where('repository_id', '=', repository.id).orderBy('name').execute();
        const held = names.find((t) => immutable(pathInProject(repo), t.name));
        if (held) throw immutableDeleteError(held.name);
      }
      const artifacts = await trx.selectFrom('artifacts').selectAll().where('repository_id', '=', repository.id).orderBy('id').execute();
      const children = new Set(
        (
          await trx
            .selectFrom('artifact_references')
            .innerJoin('artifacts', 'artifacts.id', 'artifact_references.artifact_id')
            .select('artifact_references.child_digest')
            .where('artifacts.repository_id', '=', repository.id)
            .where('artifact_references.kind', '=', 'manifest')
            .execute()
        ).map((r) => r.child_digest),
      );
      const base = { operator: ctx.actor.username, request: ctx.request, project: projectRef(project), repository: repositoryRef(repository) };
      for (const a of artifacts) {
        if (children.has(a.digest)) continue;
        await this.deps.outbox.append(trx, { ...base, type: 'DELETE_ARTIFACT', artifact: artifactRef(a, null, await tagsOf(trx, a.id)) });
      }
      await trx.deleteFrom('tags').where('repository_id', '=', repository.id).execute();
      await trx
        .deleteFrom('artifact_references')
        .where('artifact_id', 'in', (eb) => eb.selectFrom('artifacts').select('id').where('repository_id', '=', repository.id))
        .execute();
      await trx.deleteFrom('artifacts').where('repository_id', '=', repository.id).execute();
      const linked = await trx.selectFrom('repository_blobs').select('digest').where('repository_id', '=', repository.id).execute();
      await trx.deleteFrom('repository_blobs').where('repository_id', '=', repository.id).execute();
      await trx.deleteFrom('repositories').where('id', '=', repository.id).execute();
      // Quota: what this repository linked and no other artifact of the project references leaves the usage.
      await this.deps.quotas?.release(trx, project.id, linked.map((r) => r.digest));
      await this.deps.outbox.append(trx, { ...base, type: 'DELETE_REPOSITORY' });
    });
  }

  /** Sets a repository's description (Harbor's repository update); its update_time stays, as Harbor's does. */
  async setRepositoryDescription(ctx: CallContext, repo: RepoName, description: string): Promise<void> {
    await this.authorize(ctx, repo, 'push');
    if (description.length > maxRepositoryDescriptionLength) {
      throw fail('BAD_REQUEST', `the description is ${description.length} characters long; at most ${maxRepositoryDescriptionLength} are allowed`);
    }
    const done = await this.deps.db.updateTable('repositories').set({ description }).where('name', '=', repo).executeTakeFirst();
    if (Number(done.numUpdatedRows) === 0) throw fail('NOT_FOUND', `repository ${repo} not found`, { name: repo });
  }

  /** GET /v2/_catalog: repositories the caller may pull from, in lexical order after `last`, at most `n`. */
  async catalog(ctx: CallContext, n: number | null, last: string | null): Promise<NamePage> {
    const limit = pageLimit(n);
    if (limit === 0) return { names: [], next: null };
    const names: string[] = [];
    let after = last;
    const batch = 500;
    for (;;) {
      let q = this.deps.db
        .selectFrom('repositories')
        .innerJoin('projects', 'projects.id', 'repositories.project_id')
        .select(['repositories.name as name', 'projects.name as project', 'projects.public as public'])
        .orderBy('repositories.name')
        .limit(batch);
      if (after !== null) q = q.where('repositories.name', '>', after);
      const rows = await q.execute();
      for (const r of rows) {
        if (this.deps.authorizer.allows(ctx.actor, 'pull', { name: r.project, public: r.public === 1 })) names.push(r.name);
      }
      if (rows.length < batch || (limit !== null && names.length > limit)) break;
      after = rows[rows.length - 1]?.name ?? null;
    }
    return page(names, limit);
  }

  /** GET /v2/<name>/referrers/<digest>: an OCI index of the manifests whose subject is `digest`. */
  async referrers(ctx: CallContext, repo: RepoName, digest: Digest, artifactType: string | null): Promise<{ index: object; filtered: boolean }> {
    await this.authorize(ctx, repo, 'pull');
    const repository = await this.repository(repo, 'NAME_UNKNOWN');
    const rows = await this.deps.db
      .selectFrom('artifacts')
      .selectAll()
      .where('repository_id', '=', repository.id)
      .where('subject_digest', '=', digest)
      .orderBy('id')
      .execute();
    const manifests = rows
      .map((a) => {
        const type = a.artifact_type ?? a.config_media_type;
        return {
          mediaType: a.media_type,
          digest: a.digest,
          size: a.manifest_size,
          ...(type !== null ? { artifactType: type } : {}),
          ...(a.annotations !== null ? { annotations: parseJsonObject(a.annotations) } : {}),
        };
      })
      .filter((m) => artifactType === null || m.artifactType === artifactType);
    return { index: { schemaVersion: 2, mediaType: ociIndex, manifests }, filtered: artifactType !== null };
  }
}

/** A least-recently-used map of byte buffers, bounded by their total size. */
class ByteLru {
  private readonly entries = new Map<string, Buffer>();
  private total = 0;
  constructor(private readonly maxBytes: number) {}

  get(key: string): Buffer | undefined {
    const v = this.entries.get(key);
    if (v) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  set(key: string, value: Buffer): void {
    if (value.length > this.maxBytes) return;
    const prev = this.entries.get(key);
    if (prev) {
      this.entries.delete(key);
      this.total -= prev.length;
    }
    this.entries.set(key, value);
    this.total += value.length;
    for (const [k, v] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(k);
      this.total -= v.length;
    }
  }
}

/** MANIFEST_UNKNOWN for a reference. */
function manifestUnknown(repo: RepoName, ref: Reference): Error {
  const what = ref.kind === 'tag' ? `tag ${ref.tag}` : `manifest ${ref.digest}`;
  return fail('MANIFEST_UNKNOWN', `${what} not found in ${repo}`, ref.kind === 'tag' ? { name: repo, tag: ref.tag } : { name: repo, digest: ref.digest });
}

/** The tags of an artifact, in lexical order. */
async function tagsOf(trx: Trx, artifactId: number): Promise<string[]> {
  return (await registryStore.tagNames(trx, [artifactId])).get(artifactId) ?? [];
}

/** The event view of an artifact row. */
function artifactRef(a: ArtifactRow, tag: string | null, tags: string[]): ArtifactRef {
  return { digest: a.digest, mediaType: a.media_type, size: a.size, tag, tags, artifactType: a.artifact_type };
}

/** An index entry as PUSH_ARTIFACT lists it: the digest, and the platform's os, architecture and variant when given. */
function indexPlatform(d: Descriptor): IndexPlatform {
  const p = d.platform;
  if (p === null) return { digest: d.digest };
  return { digest: d.digest, os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) };
}

/** Validates `n`: null (everything), 0 (an empty page) or a positive integer capped at {@link maxPageSize}. */
function pageLimit(n: number | null): number | null {
  if (n === null) return null;
  if (!Number.isSafeInteger(n) || n < 0) throw fail('BAD_REQUEST', `invalid n=${n}: the page size must be a non-negative integer`, { n });
  return Math.min(n, maxPageSize);
}

/** Cuts `names` (fetched with one extra row) to `limit`, telling whether more follow. */
function page(names: string[], limit: number | null): NamePage {
  if (limit === null || names.length <= limit) return { names, next: null };
  const kept = names.slice(0, limit);
  return { names: kept, next: kept[kept.length - 1] ?? null };
}

function parseJsonObject(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return {};
  }
}

