/**
 * The local side of a replication: this Wharf's own registry, through the `Registry` port, as the
 * given actor (the replication's system actor). Reads are not pulls (no PULL_ARTIFACT, no
 * pull_time); writes are pushes like any other (PUSH_ARTIFACT, quotas, tag immutability apply).
 * A missing project is created by `ensureProject` before the first push.
 *
 * Errors: the registry's "not there" codes become null/false where the contract says so; other
 * domain errors become a SideError that is not transient (a refusal: permission, quota, an
 * immutable tag, a bad digest), except UNAVAILABLE and TOOMANYREQUESTS; anything else (storage,
 * database) is transient.
 */
import type { Readable } from 'node:stream';
import type { Actor, CallContext } from '../auth/index.ts';
import type { Registry } from '../registry/index.ts';
import { isDomainError, parseDigest, parseReference, parseRepoName, projectOf, type ErrorCode, type RepoName } from '../domain/index.ts';
import { SideError, type ReplicationSide, type SideManifest } from './side.ts';

/** What a {@link LocalSide} needs. */
export interface LocalSideDeps {
  registry: Registry;
  /** Who the side acts as. */
  actor: Actor;
  /** This Wharf's external_url (events name it as the endpoint). */
  endpoint: string;
  /** Creates the project `name` (private) when it does not exist. */
  ensureProject: (name: string) => Promise<void>;
}

/** Page size for tag and catalog listings. */
const pageSize = 1000;

/** Codes that say the repository or manifest is not there. */
const manifestAbsent: ReadonlySet<ErrorCode> = new Set(['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
/** Codes that say the blob (or its repository) is not there. */
const blobAbsent: ReadonlySet<ErrorCode> = new Set(['NAME_UNKNOWN', 'BLOB_UNKNOWN']);
/** Domain codes worth another try. */
const transientCodes: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'TOOMANYREQUESTS']);

/** A {@link ReplicationSide} over this Wharf's registry. */
export class LocalSide implements ReplicationSide {
  readonly label = 'local';
  readonly type = 'harbor';
  readonly endpoint: string;
  private readonly ctx: CallContext;

  constructor(private readonly deps: LocalSideDeps) {
    this.endpoint = deps.endpoint;
    this.ctx = { actor: deps.actor };
  }

  async getManifest(repo: string, ref: string, signal: AbortSignal): Promise<SideManifest | null> {
    return this.call(
      `read manifest ${repo}:${ref}`,
      signal,
      async (): Promise<SideManifest | null> => {
        const m = await this.deps.registry.getManifest(this.ctx, parseRepoName(repo), parseReference(ref), false);
        return { digest: m.digest, mediaType: m.mediaType, body: m.body };
      },
      { codes: manifestAbsent, value: null },
    );
  }

  async headManifest(repo: string, ref: string, signal: AbortSignal): Promise<{ digest: string; mediaType: string } | null> {
    const m = await this.getManifest(repo, ref, signal);
    return m && { digest: m.digest, mediaType: m.mediaType };
  }

  async putManifest(repo: string, ref: string, mediaType: string, body: Buffer, signal: AbortSignal): Promise<string> {
    return this.call(`push manifest ${repo}:${ref}`, signal, async () => {
      const r = await this.deps.registry.putManifest(this.ctx, parseRepoName(repo), parseReference(ref), mediaType, body);
      return r.digest as string;
    });
  }

  async deleteManifest(repo: string, digest: string, signal: AbortSignal): Promise<boolean> {
    return this.call(
      `delete manifest ${repo}@${digest}`,
      signal,
      async () => {
        await this.deps.registry.deleteManifest(this.ctx, parseRepoName(repo), { kind: 'digest', digest: parseDigest(digest) });
        return true;
      },
      { codes: manifestAbsent, value: false },
    );
  }

  async hasBlob(repo: string, digest: string, signal: AbortSignal): Promise<boolean> {
    return this.call(
      `check blob ${digest} in ${repo}`,
      signal,
      async () => {
        await this.deps.registry.blobInfo(this.ctx, parseRepoName(repo), parseDigest(digest));
        return true;
      },
      { codes: blobAbsent, value: false },
    );
  }

  async openBlob(repo: string, digest: string, signal: AbortSignal): Promise<{ size: number; stream: Readable }> {
    return this.call(`read blob ${digest} of ${repo}`, signal, async () => {
      const { info, stream } = await this.deps.registry.readBlob(this.ctx, parseRepoName(repo), parseDigest(digest));
      return { size: info.size, stream };
    });
  }

  async mountBlob(repo: string, digest: string, fromRepo: string, signal: AbortSignal): Promise<boolean> {
    return this.call(
      `mount blob ${digest} from ${fromRepo} into ${repo}`,
      signal,
      async () => {
        const info = await this.deps.registry.mountBlob(this.ctx, parseRepoName(repo), parseDigest(digest), parseRepoName(fromRepo));
        return info !== null;
      },
      { codes: blobAbsent, value: false },
    );
  }

  async writeBlob(repo: string, digest: string, size: number, data: Readable, _opts: { chunkSize?: number }, signal: AbortSignal): Promise<void> {
    // Locally there is no request size to respect: the stream goes in as one append.
    const registry = this.deps.registry;
    let upload: { repo: RepoName; id: string } | null = null;
    const onAbort = () => data.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    const what = `upload blob ${digest} to ${repo}`;
    try {
      await this.call(what, signal, async () => {
        const name = parseRepoName(repo);
        const d = parseDigest(digest);
        const started = await registry.startUpload(this.ctx, name);
        upload = { repo: name, id: started.id };
        let state;
        try {
          state = await registry.appendUpload(this.ctx, name, started.id, data);
        } catch (err) {
          // The data stream failed (the source's read): that error, not the registry's "body ended early".
          if (data.errored && !signal.aborted) throw sourceFailure(what, data.errored);
          throw err;
        }
        if (state.size !== size) throw new SideError(`${what}: got ${state.size} bytes, expected ${size}`, false);
        await registry.completeUpload(this.ctx, name, started.id, d);
        upload = null;
      });
    } catch (err) {
      data.destroy();
      const left = upload as { repo: RepoName; id: string } | null;
      if (left) await registry.cancelUpload(this.ctx, left.repo, left.id).catch(() => undefined);
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async listTags(repo: string, signal: AbortSignal): Promise<string[]> {
    return this.call(
      `list tags of ${repo}`,
      signal,
      async () => {
        const name = parseRepoName(repo);
        const tags: string[] = [];
        for (let last: string | null = null; ; ) {
          if (signal.aborted) throw signal.reason;
          const page = await this.deps.registry.listTags(this.ctx, name, pageSize, last);
          tags.push(...page.names);
          if (page.next === null || page.names.length === 0) return tags;
          last = page.next;
        }
      },
      { codes: manifestAbsent, value: [] },
    );
  }

  async listRepositories(signal: AbortSignal): Promise<string[]> {
    return this.call('list repositories', signal, async () => {
      const names: string[] = [];
      for (let last: string | null = null; ; ) {
        if (signal.aborted) throw signal.reason;
        const page = await this.deps.registry.catalog(this.ctx, pageSize, last);
        names.push(...page.names);
        if (page.next === null || page.names.length === 0) return names;
        last = page.next;
      }
    });
  }

  async prepareRepository(repo: string, signal: AbortSignal): Promise<void> {
    await this.call(`prepare ${repo}`, signal, () => this.deps.ensureProject(projectOf(parseRepoName(repo))));
  }

  async close(): Promise<void> {}

  /**
   * Runs one registry call: checks the signal before and after, maps a "not there" code of
   * `absent` to its value, and any other failure to a SideError.
   */
  private async call<T>(what: string, signal: AbortSignal, fn: () => Promise<T>, absent?: { codes: ReadonlySet<ErrorCode>; value: T }): Promise<T> {
    if (signal.aborted) throw signal.reason;
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (absent && isDomainError(err) && absent.codes.has(err.code)) return absent.value;
      throw toSideError(what, err);
    }
    if (signal.aborted) throw signal.reason;
    return result;
  }
}

/** A failure of the stream being uploaded (the source side): transient unless the source said otherwise. */
function sourceFailure(what: string, err: Error): SideError {
  if (err instanceof SideError) return err;
  return new SideError(`${what}: reading the source failed: ${err.message}`, true, { cause: err });
}

/** A registry failure as a SideError (see the header for which are transient). */
function toSideError(what: string, err: unknown): SideError {
  if (err instanceof SideError) return err;
  if (isDomainError(err)) return new SideError(`${what}: ${err.message}`, transientCodes.has(err.code), { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new SideError(`${what}: ${message}`, true, { cause: err });
}
