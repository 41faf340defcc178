/**
 * Copying an artifact into another repository (Harbor's CopyArtifact), made as a push by the
 * registry itself: an index's children first, then the artifact, then its accessories (the
 * manifests whose `subject` it is, as Harbor copies them; an accessory's own accessories are not
 * followed, as in Harbor), each manifest's blobs linked into the destination by
 * reference (blobs are content-addressed: no byte is read or written in the blob store), then each
 * manifest put through `putManifest`. The destination therefore records what a client's push
 * records — CREATE_REPOSITORY when new, PUSH_ARTIFACT per manifest, CREATE_TAG — counts its quota
 * and refuses an immutable tag with the push's message.
 *
 * Before anything is linked the copy checks what a push would refuse late: push on the
 * destination, pull on the source (the source's pull gate applies), an immutable destination tag,
 * and the quota for the whole copy; so these refusals leave nothing behind. A refusal that can
 * only happen later (a race with another writer) leaves linked blobs, as a client's failed push does.
 */
import {
  fail,
  parseDigest,
  parseManifest,
  parseReference,
  parseRepoName,
  effectiveArtifactType,
  type Digest,
  type ParsedManifest,
  type Reference,
  type RepoName,
} from '../domain/index.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { Authorizer } from '../auth/index.ts';
import type { QuotaGuard, QuotaItem } from './quota-guard.ts';
import { immutablePushError, pathInProject, type ImmutabilityGuard } from './immutability-guard.ts';
import { findRepository, projectForRepo, repositoryRef } from './repositories.ts';
import type { CallContext, Registry } from './types.ts';

/** Longest `from` accepted: a repository name, a separator and a sha512 digest. */
export const maxCopySourceLength = 512;

/** Deepest nesting of indexes a copy follows (an index of indexes of images is depth 2). */
export const maxCopyDepth = 4;

/** Most manifests one copy takes (the artifact, its children and accessories): their bytes are held until the copy ends. */
export const maxCopyManifests = 10_000;

/** What `?from=` names: a repository and a tag or a digest in it. */
export interface CopySource {
  repository: RepoName;
  reference: Reference;
}

/**
 * Parses Harbor's `from` (`project/repository:tag` or `project/repository@digest`); BAD_REQUEST
 * with the accepted forms otherwise. Linear in the input (bounded, then split once).
 */
export function parseCopySource(from: unknown): CopySource {
  if (typeof from !== 'string' || from === '') throw fail('BAD_REQUEST', 'from is required: use <project>/<repository>:<tag> or <project>/<repository>@<digest>');
  const shown = from.length > 80 ? `${from.slice(0, 80)}...` : from;
  const bad = () => fail('BAD_REQUEST', `invalid from "${shown}": use <project>/<repository>:<tag> or <project>/<repository>@<digest>`);
  if (from.length > maxCopySourceLength) throw bad();
  const at = from.indexOf('@');
  const slash = from.lastIndexOf('/');
  const colon = from.lastIndexOf(':');
  let name: string;
  let ref: string;
  if (at >= 0) {
    name = from.slice(0, at);
    ref = from.slice(at + 1);
    if (!ref.includes(':')) throw bad();
  } else if (colon > slash) {
    name = from.slice(0, colon);
    ref = from.slice(colon + 1);
  } else {
    throw bad();
  }
  try {
    const repository = parseRepoName(name);
    return { repository, reference: parseReference(ref) };
  } catch {
    throw bad();
  }
}

/** What a copy uses of the registry. */
export interface CopyParts {
  db: Kysely<Database>;
  authorizer: Authorizer;
  quotas?: QuotaGuard;
  immutability?: ImmutabilityGuard;
  blobs: Pick<Registry, 'mountBlob'>;
  manifests: Pick<Registry, 'getManifest' | 'putManifest' | 'referrers'>;
}

/** One manifest of a copy. */
interface CopyNode {
  digest: Digest;
  mediaType: string;
  body: Buffer;
  parsed: ParsedManifest;
}

/** Blobs a manifest needs in its repository (foreign layers with URLs excepted), once each. */
function linkedBlobs(m: ParsedManifest): Array<{ digest: Digest; size: number }> {
  const seen = new Map<string, { digest: Digest; size: number }>();
  for (const b of m.blobs) if (b.urls === null && !seen.has(b.digest)) seen.set(b.digest, { digest: b.digest, size: b.size });
  return [...seen.values()];
}

/** The digests of the manifests in `from` whose subject is `digest` (the referrers API's index). */
async function accessoriesOf(parts: CopyParts, ctx: CallContext, from: RepoName, digest: Digest): Promise<Digest[]> {
  const { index } = await parts.manifests.referrers(ctx, from, digest, null);
  // The registry's own referrers index: `manifests` is a list of descriptors with validated digests.
  const listed = (index as { manifests?: Array<{ digest: string }> }).manifests ?? [];
  return listed.map((m) => parseDigest(m.digest));
}

/**
 * Reads the manifest `ref` of `from` with what a copy takes along (HEAD semantics: no pull is
 * recorded): an index's children before it, then its accessories; each digest once, at most
 * {@link maxCopyManifests}. `root` is the artifact `ref` names.
 */
async function readTree(parts: CopyParts, ctx: CallContext, from: RepoName, ref: Reference): Promise<{ nodes: CopyNode[]; root: CopyNode }> {
  const out: CopyNode[] = [];
  const seen = new Set<string>();
  let root: CopyNode | undefined;
  const visit = async (r: Reference, depth: number, accessory: boolean): Promise<void> => {
    const m = await parts.manifests.getManifest(ctx, from, r, false);
    if (seen.has(m.digest)) return;
    seen.add(m.digest);
    if (seen.size > maxCopyManifests) throw fail('UNSUPPORTED', `the artifact takes more than ${maxCopyManifests} manifests along (children and accessories); it cannot be copied`);
    const parsed = parseManifest(m.body, m.mediaType);
    if (parsed.manifests.length > 0 && depth >= maxCopyDepth) {
      throw fail('UNSUPPORTED', `index ${m.digest} nests indexes deeper than ${maxCopyDepth} levels; it cannot be copied`);
    }
    for (const child of parsed.manifests) await visit({ kind: 'digest', digest: child.digest }, depth + 1, false);
    const node = { digest: m.digest, mediaType: m.mediaType, body: m.body, parsed };
    out.push(node);
    if (depth === 0) root = node;
    if (accessory) return;
    for (const d of await accessoriesOf(parts, ctx, from, m.digest)) await visit({ kind: 'digest', digest: d }, depth + 1, true);
  };
  await visit(ref, 0, false);
  if (!root) throw new Error('copy: the source artifact was not read');
  return { nodes: out, root };
}

/**
 * Copies artifact `ref` of `from` into `to` (tagged with the same tag when `ref` is a tag), as a
 * push of the caller; returns the copied artifact's digest.
 */
export async function copyArtifact(parts: CopyParts, ctx: CallContext, from: RepoName, ref: Reference, to: RepoName): Promise<{ digest: Digest }> {
  // The destination first: a caller who may not push there learns nothing about the source.
  const project = await projectForRepo(parts.db, to);
  parts.authorizer.check(ctx.actor, 'push', { name: project.name, public: project.public === 1 }, to);
  const { nodes, root } = await readTree(parts, ctx, from, ref);

  const dest = await findRepository(parts.db, to);
  if (ref.kind === 'tag' && dest && parts.immutability) {
    const immutable = await parts.immutability.immutableTags(project.id);
    if (immutable && immutable(pathInProject(to), ref.tag)) {
      const existing = await parts.db.selectFrom('tags').select('id').where('repository_id', '=', dest.id).where('name', '=', ref.tag).executeTakeFirst();
      if (existing) throw immutablePushError(to, ref.tag);
    }
  }

  const quotas = parts.quotas;
  if (quotas) {
    const items = new Map<string, QuotaItem>();
    for (const n of nodes) {
      items.set(n.digest, { digest: n.digest, size: n.body.length });
      for (const b of linkedBlobs(n.parsed)) if (!items.has(b.digest)) items.set(b.digest, b);
    }
    const tag = ref.kind === 'tag' ? ref.tag : null;
    const artifact = { digest: root.digest, mediaType: root.parsed.mediaType, size: root.body.length, tag, tags: tag ? [tag] : [], artifactType: effectiveArtifactType(root.parsed) };
    const subject = { ctx, project, repository: to, repositoryRef: dest ? repositoryRef(dest) : null, artifact };
    await quotas.guard(() => quotas.precheck(subject, [...items.values()]));
  }

  for (const n of nodes) {
    for (const b of linkedBlobs(n.parsed)) {
      const linked = await parts.blobs.mountBlob(ctx, to, b.digest, from);
      if (!linked) throw fail('BLOB_UNKNOWN', `blob ${b.digest} of ${from} is missing from the registry; the artifact cannot be copied`, { digest: b.digest, name: from });
    }
    const target: Reference = n === root && ref.kind === 'tag' ? ref : { kind: 'digest', digest: n.digest };
    await parts.manifests.putManifest(ctx, to, target, n.mediaType, n.body);
  }
  return { digest: root.digest };
}
