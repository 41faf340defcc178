/**
 * The registry's quota port: the hooks the registry calls around and inside the transactions that
 * link blobs, record manifests and delete artifacts. The registry declares it; projects implements
 * it (src/projects/quotas.ts `QuotaService`); main.ts wires them (RegistryDeps.quotas).
 */
import type { Transaction } from 'kysely';
import type { Database, ProjectRow } from '../db/index.ts';
import type { ArtifactRef, RepositoryRef } from '../events/index.ts';
import type { CallContext } from '../auth/index.ts';

/** One blob a push adds to a project. */
export interface QuotaItem {
  digest: string;
  size: number;
}

/** What a push is about, for the message and the quota events. */
export interface QuotaSubject {
  ctx: CallContext;
  project: ProjectRow;
  /** Full repository name. */
  repository: string;
  /** The repository as events show it; null when it does not exist (yet). */
  repositoryRef: RepositoryRef | null;
  /** The manifest being pushed; null for blob uploads and mounts. */
  artifact: ArtifactRef | null;
}

/** The hooks the registry calls (RegistryDeps.quotas); absent means no quotas. */
export interface QuotaGuard {
  /** Inside the transaction that links blobs: adds the new ones to the usage; throws (DENIED) past the limit. */
  charge(trx: Transaction<Database>, subject: QuotaSubject, items: QuotaItem[]): Promise<void>;
  /** Before an upload or manifest is taken in: refuses early when it cannot fit. */
  precheck(subject: QuotaSubject, items: QuotaItem[]): Promise<void>;
  /** Wraps a transaction that may be refused, to record the refusal after its rollback. */
  guard<T>(fn: () => Promise<T>): Promise<T>;
  /** Inside the transaction that deletes artifacts: blobs no longer referenced leave the usage. */
  release(trx: Transaction<Database>, projectId: number, digests: string[], opts?: { keepIfLinked?: boolean }): Promise<void>;
}
