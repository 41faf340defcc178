/**
 * Target health after a failed attempt: `failing_since` starts at the first failure of a run (any
 * success clears it, in the batch write); once failures have been continuous for
 * `disable_after_seconds`, the target is disabled with a reason, a WEBHOOK_TARGET_DISABLED event
 * goes to the outbox, and every other unfinished delivery to it ends as Stopped. The decision is
 * `decideHealth` (pure); `recordFailure` applies it inside the transaction recording the attempt.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Kysely } from 'kysely';
import { webhookDeliveryStore as store, type ClaimedDelivery, type Database } from '../db/index.ts';
import type { Outbox, ProjectRef } from '../events/index.ts';
import { redactUrl } from './delivery-attempt.ts';

/** What a failure does to a target's health. */
export interface HealthDecision {
  /** Set `failing_since` to `since` (the target was not failing until now). */
  startFailing: boolean;
  since: number;
  /** Disable the target with this reason; null to leave it enabled (or it is disabled already). */
  disableReason: string | null;
}

/**
 * The health decision after a failure at `now` of a target whose health is `t`, which fails with
 * `lastError` (see ./delivery-outcome.ts `outcomeText`). Pure.
 */
export function decideHealth(t: { failing_since: number | null; enabled: number }, now: number, disableAfterSeconds: number, lastError: string): HealthDecision {
  const since = t.failing_since ?? now;
  const startFailing = t.failing_since === null;
  if (t.enabled !== 1 || now - since < disableAfterSeconds * 1000) return { startFailing, since, disableReason: null };
  const reason = `failing continuously since ${new Date(since).toISOString()} (more than ${disableAfterSeconds} s); last error: ${lastError}`;
  return { startFailing, since, disableReason: reason };
}

/** What recording a failure needs. */
export interface AutoDisableDeps {
  outbox: Outbox;
  logger: Logger;
  config: Config;
}

/** What the delivery whose attempt failed is told when that failure disabled its target. */
export const disabledAfterFailing = 'the target was disabled after failing continuously';

/**
 * Keeps the health of the target of `l` after its attempt failed with `lastError`, in `trx`, and
 * disables it when the decision says so. Returns {@link disabledAfterFailing} when it disabled
 * the target, else null.
 */
export async function recordFailure(deps: AutoDisableDeps, trx: Kysely<Database>, l: ClaimedDelivery, lastError: string, now: number): Promise<string | null> {
  const t = await store.targetHealth(trx, l.target.id);
  if (!t) return null;
  const d = decideHealth(t, now, deps.config.webhooks.disable_after_seconds, lastError);
  if (d.startFailing) await store.markFailing(trx, l.target.id, d.since);
  if (d.disableReason === null) return null;

  const reason = d.disableReason;
  await store.disableTarget(trx, l.target.id, reason);
  let project: ProjectRef | null = null;
  if (l.policy.project_id !== null) {
    const p = await store.projectOf(trx, l.policy.project_id);
    if (p) project = { id: p.id, name: p.name, public: p.public === 1 };
  }
  await deps.outbox.append(trx, {
    type: 'WEBHOOK_TARGET_DISABLED',
    operator: '',
    project,
    policyId: l.policy.id,
    targetId: l.target.id,
    address: redactUrl(l.target.address, l.target.type),
    reason,
  });
  // Every other unfinished delivery to this target ends now.
  await store.stopTargetDeliveries(trx, l.target.id, { taskId: l.task.id, executionId: l.exec.id }, `stopped: the target was disabled (${reason})`, now);
  deps.logger.warn({ target_id: l.target.id, policy_id: l.policy.id, reason }, 'webhook target disabled');
  return disabledAfterFailing;
}
