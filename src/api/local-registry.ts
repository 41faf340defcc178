/**
 * The registry as `/v2` serves it, for a reader inside this process: the built-in scanner of
 * `wharf serve` reads the images it scans here instead of over HTTP from this same process
 * (scanning/builtin's `LocalRegistry`; docs/scanning.md, "Reading from this Wharf"). Nothing is
 * skipped: the caller is resolved from the Authorization value by the rules of the `/v2` routes
 * (resolveActor: a bearer token, or Basic credentials through the failed-login limiter; none is
 * the anonymous caller), and the reads are the registry service calls of
 * `GET /v2/<name>/manifests/<digest>` (a pull: the permission, the pull gate, the recorded pull)
 * and `GET /v2/<name>/blobs/<digest>` (the permission, the blob's link to the repository).
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { anonymous, type CallContext } from '../auth/index.ts';
import { fail, parseDigest, parseRepoName } from '../domain/index.ts';
import type { Registry } from '../registry/index.ts';
import { authorizationActor, badCredentialsText, type CredentialDeps } from './credentials.ts';

export interface LocalRegistryDeps extends CredentialDeps {
  /** The service the /v2 routes call (with the proxy cache in front, as they have it). */
  registry: Registry;
  /** This Wharf's registry URL as scan requests name it (ScanService's `registryUrl`); "" before it is known. */
  ownUrl: () => string;
}

/** The user agent recorded with the pulls of in-process readers. */
const inProcessAgent = 'wharf-scanner (in-process)';

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Wharf's own registry read in-process, behind the checks of its `/v2` routes. */
export function localRegistry(deps: LocalRegistryDeps) {
  const context = async (authorization: string): Promise<CallContext> => {
    const header = authorization === '' ? undefined : authorization;
    const actor = await authorizationActor(deps, header, '127.0.0.1', '/v2');
    if (actor === null) throw fail('UNAUTHORIZED', badCredentialsText(header));
    return { actor: actor ?? anonymous, request: { id: 'in-process', addr: '127.0.0.1', host: '', method: 'GET', useragent: inProcessAgent } };
  };
  /** The blob as `GET /v2/<repository>/blobs/<digest>` streams it for `ctx`, ended by `signal`. */
  const read = async (ctx: CallContext, repository: string, digest: string, signal: AbortSignal | undefined): Promise<Readable> => {
    const { stream } = await deps.registry.readBlob(ctx, parseRepoName(repository), parseDigest(digest));
    if (signal) {
      const stop = (): void => {
        stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (signal.aborted) stop();
      else {
        signal.addEventListener('abort', stop, { once: true });
        stream.once('close', () => signal.removeEventListener('abort', stop));
      }
    }
    return stream;
  };
  return {
    serves(url: string): boolean {
      const own = deps.ownUrl();
      return own !== '' && withoutTrailingSlash(url) === withoutTrailingSlash(own);
    },
    async manifest(authorization: string, repository: string, digest: string): Promise<{ body: Buffer; contentType: string }> {
      const ctx = await context(authorization);
      const m = await deps.registry.getManifest(ctx, parseRepoName(repository), { kind: 'digest', digest: parseDigest(digest) }, true);
      return { body: m.body, contentType: m.mediaType };
    },
    async layer(authorization: string, repository: string, digest: string, signal: AbortSignal | undefined): Promise<Readable | FileHandle> {
      signal?.throwIfAborted();
      // One resolution of the caller for both: the open file when the storage has one, else the stream.
      const ctx = await context(authorization);
      const opened = await deps.registry.blobFile?.(ctx, parseRepoName(repository), parseDigest(digest));
      return opened ? opened.file : read(ctx, repository, digest, signal);
    },
    async blob(authorization: string, repository: string, digest: string, signal: AbortSignal | undefined): Promise<Readable> {
      signal?.throwIfAborted();
      return read(await context(authorization), repository, digest, signal);
    },
  };
}
