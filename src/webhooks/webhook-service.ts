// PLACEHOLDER: the webhook API helper replaces this file (policies, executions, tasks, settings).
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { Outbox } from '../events/index.ts';
import type { Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';

/** What the webhook service needs. */
export interface WebhookServiceDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  authorizer: Authorizer;
  config: Config;
}
/** Webhook policies and delivery history (placeholder). */
export class WebhookService {
  constructor(readonly deps: WebhookServiceDeps) {}
}
