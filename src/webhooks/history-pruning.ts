/**
 * Pruning of webhook delivery history: finished executions (with their tasks and attempts) older
 * than `history_max_age_days`, and beyond the newest `history_max_per_policy` executions of each
 * policy. Unfinished deliveries are never pruned. The delivery worker runs it periodically.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { webhookDeliveryStore as store, type Database } from '../db/index.ts';

/** Deletes the history described above as of `now`; returns the number of executions deleted. */
export async function pruneHistory(db: Kysely<Database>, limits: Pick<Config['webhooks'], 'history_max_age_days' | 'history_max_per_policy'>, logger: Logger, now: number): Promise<number> {
  let deleted = await store.deleteFinishedBefore(db, now - limits.history_max_age_days * 86_400_000);
  const keep = limits.history_max_per_policy;
  for (const policyId of await store.crowdedPolicies(db, keep)) {
    const edge = await store.executionAfterNewest(db, policyId, keep);
    if (edge === null) continue;
    deleted += await store.deleteFinishedUpTo(db, policyId, edge);
  }
  if (deleted > 0) logger.info({ deleted }, 'pruned webhook delivery history');
  return deleted;
}
