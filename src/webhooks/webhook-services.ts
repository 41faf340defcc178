/**
 * The webhook API's services, built together: policies (./policy-service.ts), delivery history
 * (./history-service.ts) and the global switch (./settings.ts). The engine sends test deliveries
 * and redeliveries for them through the ports they own.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { AuditTrail, Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { Resolver } from './http-client.ts';
import { PolicyService, type TestSender } from './policy-service.ts';
import { HistoryService, type Redeliverer } from './history-service.ts';
import { WebhookSettings } from './settings.ts';
import { MsrSubscriptions } from './msr-subscriptions.ts';
import { PreviewService } from './preview-service.ts';

/** The webhook API's services. */
export interface WebhookServices {
  policies: PolicyService;
  history: HistoryService;
  settings: WebhookSettings;
  /** Payload previews: an event rendered for a target, not sent (Wharf). */
  preview: PreviewService;
  /** MSR's webhook subscriptions (/api/v0/webhooks) over the same policies. */
  msr: MsrSubscriptions;
}

/** What the webhook services need. */
export interface WebhookServicesDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  config: Config;
  /** Records policy changes (the audit log). */
  audit: AuditTrail;
  /** Sends test deliveries and redeliveries (the webhook engine). */
  engine: TestSender & Redeliverer;
  /** Resolves target host names when a policy is saved (tests); the system resolver otherwise. */
  resolver?: Resolver;
}

/** Builds the webhook API's services over one database and engine. */
export function createWebhookServices(deps: WebhookServicesDeps): WebhookServices {
  const { db, authorizer, config, audit, engine, resolver } = deps;
  const policies = new PolicyService({ db, authorizer, config, audit, sender: engine, resolver });
  return {
    policies,
    history: new HistoryService({ db, authorizer, redeliverer: engine }),
    settings: new WebhookSettings({ db, authorizer }),
    preview: new PreviewService({ db, authorizer, config }),
    msr: new MsrSubscriptions({ db, authorizer, config, policies, sender: engine, resolver }),
  };
}
