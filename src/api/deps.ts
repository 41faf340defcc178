/**
 * The HTTP layer's dependency contract: what buildApp() (src/app.ts) hands every API plugin.
 * Services only, no drivers; main.ts builds them.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Kysely } from 'kysely';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/index.ts';
import type { Authenticator, Authorizer, Actor, UserService, TokenService, LoginLimiter, LdapService } from '../auth/index.ts';
import type { Registry } from '../registry/index.ts';
import type { ProjectService } from '../projects/index.ts';
import type { QuotaService } from '../projects/index.ts';
import type { AuditService } from '../audit/index.ts';
import type { DiskMonitor, Metrics } from '../observability/index.ts';
import type { BlobStore } from '../storage/index.ts';
import type { EventFeed, WebhookServices } from '../webhooks/index.ts';
import type { WebhookRelays } from '../webhooks/index.ts';
import type { JobService } from '../jobs/index.ts';
import type { CveAllowlists, ScannerRegistrations } from '../scanning/index.ts';
import type { ScanAll, ScanService } from '../scanning/index.ts';
import type { CveExports, SecurityHub } from '../scanning/index.ts';
import type { ImmutabilityRules, RetentionService } from '../lifecycle/index.ts';
import type { RegistryEndpoints, ReplicationPolicies, ReplicationRuns } from '../replication/index.ts';
import type { PreheatInstances, PreheatPolicies, PreheatRuns } from '../preheat/index.ts';
import type { ServedCertificate } from './tls.ts';
import type { SystemSettings } from '../settings/index.ts';

/** Everything the HTTP layer needs: services only, no drivers. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  db: Kysely<Database>;
  blobs: BlobStore;
  authenticator: Authenticator;
  authorizer: Authorizer;
  /** Users: admin management, password changes, the current user. */
  users: UserService;
  /** Issues and verifies the registry's bearer tokens. */
  tokens: TokenService;
  /** Failed-login limiting; its `loginFailures` emitter announces each failure. */
  loginLimiter: LoginLimiter;
  /** LDAP sign-in's directory and Harbor's /ldap operations (docs/ldap.md); absent: no /ldap routes. */
  ldap?: LdapService;
  registry: Registry;
  projects: ProjectService;
  /** Webhook policies, delivery history (redelivery included) and the global switch. */
  webhooks: WebhookServices;
  /** Webhook relays for registries that are not Wharf (/projects/{p}/webhook/relays, /relay/{token}); absent: no such routes. */
  relays?: WebhookRelays;
  /** Wharf's event feed (/events, /events/stream; docs/event-feed.md); absent: no such routes. */
  eventFeed?: EventFeed;
  /** Harbor's system settings (/configurations; read_only, project creation, robot prefix, quotas). */
  settings: SystemSettings;
  /** The job framework: GC and audit purge runs, schedules, /jobservice. */
  jobs: JobService;
  /** Storage quotas (Harbor's /quotas). */
  quotas: QuotaService;
  /** The audit log (Harbor's /audit-logs, /projects/{p}/logs). */
  audit: AuditService;
  /** Scanner registrations and the project scanner (Harbor's /scanners, /projects/{p}/scanner). */
  scanners: ScannerRegistrations;
  /** The system CVE allowlist (/system/CVEAllowlist). */
  cveAllowlists: CveAllowlists;
  /** Tag immutability rules (Harbor's /projects/{p}/immutabletagrules). */
  immutability: ImmutabilityRules;
  /** Tag retention (Harbor's /retentions). */
  retention: RetentionService;
  /** Registry endpoints (Harbor's /registries, /replication/adapters). */
  registryEndpoints: RegistryEndpoints;
  /** Replication policies (Harbor's /replication/policies). */
  replicationPolicies: ReplicationPolicies;
  /** Replication executions, tasks and logs (Harbor's /replication/executions); absent: no such routes. */
  replicationRuns?: ReplicationRuns;
  /** P2P preheat (Harbor's /p2p/preheat, /projects/{p}/preheat); absent: no such routes. */
  preheat?: { instances: PreheatInstances; policies: PreheatPolicies; runs: PreheatRuns };
  /** Scans, their logs and scan all (src/scanning/scan-service.ts, scan-all.ts); absent: no scan routes. */
  scans?: { service: ScanService; all: ScanAll };
  /** Harbor's security hub (/security/summary, /security/vul); absent: no /security routes. */
  security?: SecurityHub;
  /** Harbor's CVE export (/export/cve). */
  cveExports?: CveExports;
  /** Whether writes can succeed (a full disk): /healthz and /readyz report it, error handlers answer 503. */
  disk: DiskMonitor;
  /** HTTPS (docs/tls.md): the served certificate and the CA /systeminfo/getcert offers; absent: plain HTTP. */
  tls?: ServedCertificate;
  /** Extra plugins registered by the composition root (webhooks API and the like). */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller (anonymous when no valid credentials were given). */
    actor: Actor;
    /** True when credentials were sent but were wrong. */
    badCredentials: boolean;
  }
}
