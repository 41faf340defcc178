/**
 * The composition root: config -> database, blob store, services -> roles (serve, gc).
 * The only module that imports concrete drivers.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { loadConfig, ConfigError, type Config } from './config/index.ts';
import { openDatabase, WriteLock, type Db } from './db/index.ts';
import { createBlobStore } from './storage/index.ts';
import { ConsumerRunner, Outbox } from './events/index.ts';
import { Authenticator, Authorizer, LdapService, LoginLimiter, TokenService, UserService, databaseLoginStore, systemActor, usersBesidesAdmin } from './auth/index.ts';
import { parseDigest, parseRepoName } from './domain/index.ts';
import { RegistryService, runGc, type GcReport, type PullGate } from './registry/index.ts';
import { ProjectService, QuotaService, type RetentionLinks, type ScanReads } from './projects/index.ts';
import { AuditService, auditWriter, auditRetentionScheduleId } from './audit/index.ts';
import { DiskMonitor, LogDestination, Metrics, createLogger, startTracing, stdoutLog, tracedBlobStore, transactionSpans } from './observability/index.ts';
import { createWebhookServices, DeliveryThread, EventFeed, WebhookEngine, webhookDispatcher } from './webhooks/index.ts';
import { WebhookRelays } from './webhooks/index.ts';
import { JobService } from './jobs/index.ts';
import { AdapterClient, CveAllowlists, ScannerRegistrations, VulnDb, vulndbScheduleOf, vulndbUpdateJob, vulndbUpdateType } from './scanning/index.ts';
import { builtinScanner, startStandaloneScanner } from './scanning/index.ts';
import { ScanAll, ScanService } from './scanning/index.ts';
import { CveExports, SecurityHub, VulnerabilityGate } from './scanning/index.ts';
import { ImmutabilityRules, RetentionService } from './lifecycle/index.ts';
import { RegistryEndpoints, ReplicationPolicies, ReplicationRuns } from './replication/index.ts';
import { PreheatInstances, PreheatPolicies, PreheatRuns } from './preheat/index.ts';
import { ProxyCacheRegistry, ProxyUpstreams, proxyCacheWriter } from './replication/index.ts';
import pkg from '../package.json' with { type: 'json' };
import { buildApp } from './app.ts';
import { SystemSettings } from './settings/index.ts';
import { CertificateManager, limitHeapGrowth, trustCertificateFiles, trustCertificates } from './platform/index.ts';
import { closeGracefully, localRegistry, startRedirectServer } from './api/index.ts';

/** A running (or ready to run) Wharf: the app, its services and how to stop it. */
export interface Wharf {
  config: Config;
  app: FastifyInstance;
  db: Db;
  logger: Logger;
  /**
   * The webhook engine: the delivery worker, and the API's redeliveries and test sends. By default
   * listen() starts it here with the outbox consumers (the webhook dispatcher, whose commits wake
   * its worker, and the audit writer). With `webhooks.delivery_thread: true` it is never started:
   * the consumers and a started engine run in `deliveryThread` instead.
   */
  engine: WebhookEngine;
  /** The thread running the outbox consumers and the delivery worker; null when `webhooks.delivery_thread` is off (the default). */
  deliveryThread: DeliveryThread | null;
  /** Failed-login limiting; subscribe to `loginLimiter.loginFailures` ('failure') to see every failed login. */
  loginLimiter: LoginLimiter;
  /** Scanner registrations: the project scanner and the registration a scan uses (`resolveForProject`, `endpointOf`). */
  scanners: ScannerRegistrations;
  /** CVE allowlists: the system list and a project's effective list (`effectiveAllowlist`). */
  cveAllowlists: CveAllowlists;
  /** Scans and their reports (reads for the pull gate and tests: gateReport, overviews). */
  scans: ScanService;
  /** The registry service /v2 calls (with the proxy cache in front): pushes and pulls in code, as a request would make them. */
  registry: ProxyCacheRegistry;
  /** The built-in scanner's vulnerability database (`wharf vulndb import` in code: `importPath`). */
  vulndb: VulnDb;
  /** The base URL once listening. */
  url(): string;
  listen(): Promise<string>;
  gc(): Promise<GcReport>;
  /** Stops accepting requests, lets in-flight ones finish, stops workers, closes the database. */
  close(): Promise<void>;
}

/** Options for {@link createWharf}. */
export interface CreateOptions {
  logger?: Logger;
  /** Collect Node's default process metrics (off in tests that build many instances). */
  defaultMetrics?: boolean;
}

/** Wires every part of Wharf from a configuration. */
export async function createWharf(config: Config, opts: CreateOptions = {}): Promise<Wharf> {
  const logger = opts.logger ?? createLogger(config.log_level);
  const metrics = new Metrics(opts.defaultMetrics ?? true);
  if (!opts.logger) metrics.countLogDrops(() => stdoutLog().droppedLines);
  // Write failures (a full disk) make /readyz answer 503 until space comes back; see docs/security.md.
  const disk = new DiskMonitor({ paths: [config.data_dir, ...(config.storage.driver === 'filesystem' ? [config.storage.root] : []), ...(config.database.url ? [] : [dirname(config.database.path)])], logger });
  // The delivery thread's connection writes too: both take this lock around their transactions.
  const writeLock = config.webhooks.delivery_thread ? new WriteLock() : undefined;
  // Traces (docs/observability.md): off by default, and then the SDK is not even loaded.
  const tracing = await startTracing(config.tracing, pkg.version);
  const db = await openDatabase(config.database.url ?? config.database.path, { poolSize: config.database.pool_size, checkpointIntervalMs: config.database.checkpoint_interval_ms, walLimitBytes: config.database.wal_limit_mb * 1024 * 1024, logger, writeLock, transactionObserver: transactionSpans() });
  const watched = disk.watchBlobs(await createBlobStore(config.storage));
  const blobs = tracing.enabled ? tracedBlobStore(watched, config.storage.driver) : watched;
  const outbox = new Outbox();
  const authorizer = new Authorizer();
  const authenticator = new Authenticator(db.kysely);
  const users = new UserService({ db: db.kysely, authorizer, authenticator });
  const tokens = new TokenService({ db: db.kysely, authorizer, ttlSeconds: config.auth.token_ttl_seconds });
  const loginLimiter = new LoginLimiter({
    maxPerUser: config.auth.login_max_failures_per_user,
    maxPerAddress: config.auth.login_max_failures_per_address,
    windowMs: config.auth.login_window_seconds * 1000,
    // In the database: failures on one instance count on every instance sharing it.
    store: databaseLoginStore(db.kysely),
  });
  const audit = new AuditService({ db: db.kysely, authorizer, config });
  // Harbor's /configurations: read_only (app.ts), project creation and quotas (projects), robot names (robots).
  const settings = new SystemSettings({ db: db.kysely, authorizer, config, audit, authModeLocked: () => usersBesidesAdmin(db.kysely) });
  // auth_mode ldap_auth (docs/ldap.md): users but the admin sign in against the directory; Harbor's /ldap operations.
  const ldap = new LdapService({ db: db.kysely, authorizer, read: (key) => settings.value(key), logger });
  authenticator.useDirectory(ldap);
  const quotas = new QuotaService({ db: db.kysely, outbox, authorizer, config, audit });
  // With webhooks.delivery_thread, consumers and delivery run in a thread (its own connection, Outbox, logger, metrics).
  const deliveryThread = writeLock ? new DeliveryThread({ config, outbox, logger, metrics, writeLock }) : null;
  // The outbox's consumers (src/events/consumers.ts); the delivery thread runs its own instead.
  const consumers = new ConsumerRunner({ db: db.kysely, outbox, logger });
  // prevent_vul: manifests of projects with the setting are checked against their stored reports (the scans are built below).
  const pullGate: PullGate = new VulnerabilityGate({
    gateReport: (digest: string): ReturnType<ScanService['gateReport']> => scans.gateReport(digest),
    effectiveAllowlist: (projectId: number, nowMs: number): Promise<Set<string>> => cveAllowlists.effectiveAllowlist(projectId, nowMs),
    consumes: (projectId: number): Promise<Set<string>> => scanners.consumes(projectId),
  });
  // Tag immutability rules: the registry asks them (cached per project) on tag pushes and deletes.
  const immutability = new ImmutabilityRules({ db: db.kysely, authorizer });
  const registry = new RegistryService({ db: db.kysely, blobs, outbox, authorizer, config, metrics, logger, quotas, pullGate, immutability });
  loginLimiter.loginFailures.on('failure', (f) => void audit.recordLoginFailure(f, (err) => logger.warn({ err }, 'audit: could not record a failed login')));
  // Artifact reads show scan overviews from the scan service's stored reports (built below, once the job framework exists).
  const scanReads: ScanReads = {
    scanOverviews: (targets, accept) => scans.scanOverviews(targets, accept),
    sbomOverviews: (targets) => scans.sbomOverviews(targets),
    vulnerabilities: (target, accept) => scans.vulnerabilities(target, accept),
  };
  // Project reads show `retention_id` from tag retention's policies (the service is built below, with the jobs).
  const retentionLinks: RetentionLinks = { policyIds: (ids) => retention.policyIds(ids) };
  // Proxy-cache projects (src/replication/proxy-cache.ts): clients (the /v2 and Harbor APIs) get this decorator; replication,
  // retention, scans and gc keep `registry` itself, and so do the cache's own writes.
  const upstreams = new ProxyUpstreams({ db: db.kysely, logger });
  const proxyCache = new ProxyCacheRegistry(registry, { project: (name): ReturnType<ProjectService['proxyCacheOf']> => projects.proxyCacheOf(name), upstreams, cache: proxyCacheWriter(registry, config.external_url), logger });
  const projects = new ProjectService({ db: db.kysely, outbox, authorizer, config, registry: proxyCache, audit, scanReads, immutability, retentionLinks, upstreamRegistries: upstreams, creation: settings });
  const engine = new WebhookEngine({ db: db.kysely, outbox, config, logger, metrics, onRedelivered: () => deliveryThread?.wakeWorker() });
  const webhooks = createWebhookServices({ db: db.kysely, authorizer, config, audit, engine });
  const relays = new WebhookRelays({ db: db.kysely, outbox, authorizer, config, audit });
  // The event feed (docs/event-feed.md): waiting clients wake on outbox appends, other instances' too (below).
  const eventFeed = new EventFeed({ db: db.kysely, authorizer, config, outbox, logger });
  if (!deliveryThread) {
    consumers.register(webhookDispatcher({ db: db.kysely, config, logger, onDeliveries: () => engine.worker.wake(), onPending: (n) => metrics.outboxPending.set(n) }));
    consumers.register(auditWriter(config));
  }
  // Scanner registrations talk to adapters through one client; the built-in scanner is called at this server's own address once it listens.
  const adapters = new AdapterClient({ timeoutSeconds: config.scanning.adapter_timeout_seconds, logger });
  const scanners = new ScannerRegistrations({ db: db.kysely, authorizer, adapters, selfUrl: () => address, externalUrl: () => config.external_url });
  const cveAllowlists = new CveAllowlists({ db: db.kysely, authorizer });
  await bootstrap(config, db, projects, logger);
  if (config.scanning.builtin) await scanners.ensureBuiltin();

  // Background work runs as jobs; each kind registers its handler here (jobs/ imports no feature).
  const jobs = new JobService({ db: db.kysely, logger, config: config.jobs });
  // PostgreSQL: work committed by any instance, this one included, wakes this one's loops at once
  // (they poll too); the outbox's own wake-up after an INSERT, before its commit, is then not sent.
  if (db.notifications) outbox.wakeOnCommit(db.notifications);
  db.notifications?.on('wharf_deliveries', () => (deliveryThread ? deliveryThread.wakeWorker() : engine.worker.wake()));
  db.notifications?.on('wharf_jobs', () => jobs.wake());
  // After gc, blobs it removed leave their projects' quota usage.
  const deleteArtifact = (repo: string, digest: string) => registry.deleteManifest({ actor: systemActor }, parseRepoName(repo), { kind: 'digest', digest: parseDigest(digest) });
  jobs.register({
    vendorType: 'GARBAGE_COLLECTION',
    async run(ctx) {
      const p = ctx.params;
      const report = await runGc({ db: db.kysely, blobs, config, logger, deleteArtifact }, { dryRun: p.dry_run === true, deleteUntagged: p.delete_untagged === true, signal: ctx.signal, log: (line) => ctx.log(line) });
      if (!report.dryRun) await quotas.reconcile();
      return { ...report };
    },
  });
  // The built-in scanner's vulnerability database; scanning.vulndb.update_schedule refreshes it (listen() sets the schedule).
  const vulndb = new VulnDb({ db: db.kysely, logger });
  jobs.register(vulndbUpdateJob(vulndb, () => config.scanning.vulndb));
  jobs.register({
    vendorType: 'PURGE_AUDIT_LOG',
    async run(ctx) {
      const p = ctx.params;
      const hours = typeof p.audit_retention_hour === 'number' ? p.audit_retention_hour : config.audit.retention_days * 24;
      const eventTypes = typeof p.include_event_types === 'string' ? p.include_event_types.split(',') : null;
      return audit.purge({ retentionHours: hours, eventTypes, dryRun: p.dry_run === true, signal: ctx.signal, log: (line) => ctx.log(line) });
    },
  });
  // Scans (src/scanning/scan-service.ts): IMAGE_SCAN, SBOM, SCAN_ON_PUSH and SCAN_ALL jobs; adapters pull with a
  // scanner token (Bearer, or Basic for the reserved user wharf$scanner) from scanning.registry_url or this server.
  authenticator.acceptScannerTokens(tokens);
  const scans = new ScanService({ db: db.kysely, outbox, jobs, authorizer, registrations: scanners, adapters, tokens, registry, config: config.scanning, registryUrl: () => config.scanning.registry_url ?? address, logger });
  for (const h of scans.handlers()) jobs.register(h);
  jobs.register(scans.scanOnPushHandler());
  const scanAll = new ScanAll({ db: db.kysely, jobs, scans, authorizer, batchSize: config.scanning.scan_all_batch });
  jobs.register(scanAll.handler());
  const cveExports = new CveExports({ db: db.kysely, authorizer, jobs });
  jobs.register(cveExports.handler());
  // Outbox consumers: auto_scan / auto_sbom_generation on PUSH_ARTIFACT; reports of digests no longer stored go on DELETE_ARTIFACT.
  consumers.register(scans.scanOnPushConsumer());
  consumers.register(scans.cleanupConsumer());
  consumers.register(relays.cleanupConsumer());
  // Tag retention (src/lifecycle/retention/): RETENTION runs (one task per repository) and their schedules.
  const retention = new RetentionService({ db: db.kysely, jobs, outbox, authorizer, registry, immutability, hostname: () => new URL(config.external_url).host });
  for (const h of retention.handlers()) jobs.register(h);
  // Replication (src/replication/): registry endpoints and their REGISTRY_HEALTH re-check; policies and their
  // REPLICATION_SCHEDULE schedules (a firing schedule starts a run through the function given to onScheduled).
  const registryEndpoints = new RegistryEndpoints({ db: db.kysely, authorizer, logger, jobs });
  const preheatInstances = new PreheatInstances({ db: db.kysely, authorizer, logger });
  const preheatPolicies = new PreheatPolicies({ db: db.kysely, authorizer });
  const preheatRuns = new PreheatRuns({ db: db.kysely, jobs, instances: preheatInstances, policies: preheatPolicies, tokens, registryUrl: () => config.external_url, logger });
  preheatPolicies.useTriggers(preheatRuns);
  jobs.register(preheatRuns.handler());
  jobs.register(preheatRuns.scheduleHandler());
  consumers.register(preheatRuns.consumer());
  jobs.register(registryEndpoints.healthHandler());
  const replicationPolicies = new ReplicationPolicies({ db: db.kysely, authorizer, jobs, endpoints: registryEndpoints, logger, localUrl: () => config.external_url });
  jobs.register(replicationPolicies.scheduleHandler());
  // Replication runs (src/replication/runs.ts): REPLICATION executions (fetch, copy and deletion tasks), the event-based
  // trigger (an outbox consumer) and REPLICATION events; a firing schedule starts a run through startFrom.
  const replicationRuns = new ReplicationRuns({
    db: db.kysely,
    jobs,
    outbox,
    authorizer,
    policies: replicationPolicies,
    registry,
    ensureProject: (name) => projects.ensureProject(name, false),
    externalUrl: () => config.external_url,
    hostname: () => new URL(config.external_url).host,
    logger,
  });
  jobs.register(replicationRuns.handler());
  consumers.register(replicationRuns.consumer());
  replicationPolicies.onScheduled((policyId, trigger, operator) => replicationRuns.startFrom(policyId, trigger, operator));
  // `wharf gc` and tests: a GARBAGE_COLLECTION execution run in this process, recorded like any other.
  const gc = async (): Promise<GcReport> => {
    const out = await jobs.runHere('GARBAGE_COLLECTION', 'MANUAL', {});
    if (out.status !== 'Success') throw new Error(`garbage collection ${out.executionId} ended ${out.status}: ${out.message}`);
    return out.value as GcReport; // what the GARBAGE_COLLECTION handler above returns on Success
  };
  // scanning.builtin: the built-in scanner's adapter API under /scanner/api/v1, outside the registry's and Harbor's auth (docs/scanning.md).
  // tls (docs/tls.md): the certificate served (from files, or generated and renewed by tls.auto), watched for changes.
  const certificates = await openCertificates(config, logger);
  // Outgoing HTTPS (webhooks, replication, scanner adapters) trusts tls.trusted_ca_files, and Wharf's own CA: the built-in scanner pulls from this server.
  trustCertificateFiles(config.tls.trusted_ca_files);
  const ownCa = certificates?.caCertificate();
  if (ownCa) trustCertificates([ownCa]);
  let redirect: Server | null = null;
  // The built-in scanner reads images of this Wharf in-process, through the checks of the /v2 routes (src/api/local-registry.ts).
  const local = localRegistry({ db: db.kysely, authenticator, tokens, loginLimiter, registry: proxyCache, ownUrl: () => config.scanning.registry_url ?? address });
  const plugins = config.scanning.builtin ? [builtinScanner({ vulndb, logger, concurrency: config.scanning.concurrency, gzipDecoder: config.scanning.gzip_decoder, zstdDecoder: config.scanning.zstd_decoder, version: pkg.version, prefix: '/scanner', local })] : [];
  const app = await buildApp({ config, logger, metrics, db: db.kysely, blobs, authenticator, authorizer, users, tokens, loginLimiter, ldap, registry: proxyCache, projects, webhooks, relays, eventFeed, settings, jobs, quotas, audit, disk, scanners, cveAllowlists, immutability, retention, registryEndpoints, replicationPolicies, replicationRuns, preheat: { instances: preheatInstances, policies: preheatPolicies, runs: preheatRuns }, plugins, scans: { service: scans, all: scanAll }, security: new SecurityHub({ db: db.kysely, authorizer }), cveExports, ...(certificates ? { tls: certificates } : {}) });
  let address = '';
  return {
    config,
    app,
    db,
    logger,
    engine,
    deliveryThread,
    loginLimiter,
    scanners,
    cveAllowlists,
    vulndb,
    scans,
    registry: proxyCache,
    url: () => address,
    async listen() {
      // The delivery thread first: once the server answers (/readyz), startup is complete.
      await deliveryThread?.start();
      try {
        await app.listen({ host: config.host, port: config.port });
      } catch (err) {
        await deliveryThread?.stop();
        throw err;
      }
      const a = app.server.address();
      const port = typeof a === 'object' && a ? a.port : config.port;
      address = `${certificates ? 'https' : 'http'}://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
      // tls.redirect_port: plain HTTP answered with a 308 to external_url.
      if (config.tls.redirect_port !== undefined) redirect = await startRedirectServer(config.host, config.tls.redirect_port, config.external_url, config.server.headers_timeout_seconds);
      if (!deliveryThread) engine.start();
      // With the delivery thread this runner holds only the scan consumers (the thread runs the webhook and audit ones).
      consumers.start();
      // audit.retention_days: a purge at each start, then hourly (its own schedule, beside Harbor's).
      await jobs.setSchedule('PURGE_AUDIT_LOG', 'Hourly', undefined, {}, auditRetentionScheduleId, Date.now());
      const vulndbSchedule = vulndbScheduleOf(config.scanning.vulndb.update_schedule);
      if (vulndbSchedule) await jobs.setSchedule(vulndbUpdateType, vulndbSchedule.type, vulndbSchedule.cron, {});
      else await jobs.removeSchedule(vulndbUpdateType);
      await registryEndpoints.syncHealthSchedule();
      await jobs.start();
      return address;
    },
    gc,
    async close() {
      certificates?.close();
      redirect?.closeAllConnections();
      await new Promise((resolve) => (redirect ? redirect.close(resolve) : resolve(undefined)));
      await closeGracefully(app);
      await jobs.stop();
      await proxyCache.close();
      await upstreams.close();
      await registry.close();
      await deliveryThread?.stop();
      await consumers.stop();
      await engine.stop();
      await adapters.close();
      disk.close();
      await db.close();
      await tracing.shutdown();
    },
  };
}

/**
 * The `tls` section: null without TLS; otherwise the certificate manager over `cert_file`/`key_file`,
 * or over `<data_dir>/tls` with `auto` (names: external_url's host, `alt_names`, and the loopback
 * names the built-in scanner and local clients use).
 */
async function openCertificates(config: Config, logger: Logger): Promise<CertificateManager | null> {
  const t = config.tls;
  if (t.cert_file !== undefined && t.key_file !== undefined) {
    return CertificateManager.open({ kind: 'files', certFile: t.cert_file, keyFile: t.key_file, ...(t.ca_file !== undefined ? { caFile: t.ca_file } : {}) }, logger);
  }
  if (!t.auto) return null;
  const names = [...new Set([new URL(config.external_url).hostname.replace(/^\[|\]$/g, ''), ...t.alt_names, 'localhost', '127.0.0.1', '::1'])];
  return CertificateManager.open({ kind: 'auto', dir: join(config.data_dir, 'tls'), names, renewBeforeDays: t.renew_before_days, validityDays: t.validity_days }, logger);
}

/** First start: the system admin `admin` and the public project `library`. */
async function bootstrap(config: Config, db: Db, projects: ProjectService, logger: Logger): Promise<void> {
  const admin = await db.kysely.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirst();
  if (!admin) {
    const generated = config.admin_password === undefined;
    const password = config.admin_password ?? randomBytes(12).toString('base64url');
    const now = Date.now();
    const res = await db.kysely
      .insertInto('users')
      .values({
        username: 'admin',
        password_hash: await Authenticator.hashPassword(password),
        email: '',
        realname: 'system admin',
        comment: '',
        sysadmin: 1,
        disabled: 0,
        creation_time: now,
        update_time: now,
      })
      // Several instances starting together on one database: the first one creates it.
      .onConflict((oc) => oc.column('username').doNothing())
      .executeTakeFirst();
    const created = Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
    if (created && generated) logger.warn({ username: 'admin', password }, 'created the system admin with a generated password; it is shown only this once');
    else if (created) logger.info({ username: 'admin' }, 'created the system admin with WHARF_ADMIN_PASSWORD');
  }
  await projects.ensureProject('library', true);
}

const usage = `usage: wharf <command>

commands:
  serve   run the registry, its APIs and the webhook workers
  gc      delete unreferenced blobs and abandoned uploads, then exit
  scanner --port N [--host H]
          serve only the built-in scanner (Harbor's Pluggable Scanner API at /api/v1) on its own port
  vulndb import PATH   import OSV records (a folder of .json files, or an OSV .zip) into the
                       built-in scanner's vulnerability database, then exit
  vulndb update        download scanning.vulndb.source/<ecosystem>/all.zip for each configured
                       ecosystem and import it, then exit
  help    show this text

Configuration comes from wharf.yaml (or WHARF_CONFIG) and WHARF_* variables; see docs/config.md.`;

/**
 * `wharf vulndb import PATH | update`: opens the database from the configuration (no server, no
 * jobs), imports or updates the vulnerability database, prints the result as JSON.
 */
async function vulndbCommand(config: Config, args: string[]): Promise<number> {
  const [sub, path] = args;
  if (!((sub === 'import' && path && args.length === 2) || (sub === 'update' && args.length === 1))) {
    console.error(`usage: wharf vulndb import PATH | wharf vulndb update\n\n${usage}`);
    return 2;
  }
  // The log goes to stderr: stdout carries the result.
  const logger = createLogger(config.log_level, { destination: new LogDestination(2) });
  const db = await openDatabase(config.database.url ?? config.database.path, { poolSize: config.database.pool_size, checkpointIntervalMs: config.database.checkpoint_interval_ms, logger, listen: false });
  try {
    const vulndb = new VulnDb({ db: db.kysely, logger });
    const { source, ecosystems } = config.scanning.vulndb;
    const result = sub === 'import' && path ? await vulndb.importPath(path) : await vulndb.update({ source, ecosystems });
    console.log(JSON.stringify({ ...result, ...(await vulndb.meta()) }, null, 2));
    return 0;
  } finally {
    await db.close();
  }
}

/**
 * `wharf scanner --port N [--host H]`: the built-in scanner alone (no registry, no Harbor API),
 * reading the vulnerability database from the configured database. Host defaults to `host`.
 */
async function scannerCommand(config: Config, args: string[]): Promise<number> {
  let port: number | undefined;
  let host = config.host;
  let bad = args.length % 2 !== 0;
  for (let i = 0; i + 1 < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1] ?? ''];
    if (flag === '--port' && /^\d{1,5}$/.test(value) && Number(value) <= 65535) port = Number(value);
    else if (flag === '--host' && value !== '') host = value;
    else bad = true;
  }
  if (port === undefined || bad) {
    console.error(`usage: wharf scanner --port N [--host H]\n\n${usage}`);
    return 2;
  }
  const logger = createLogger(config.log_level);
  const db = await openDatabase(config.database.url ?? config.database.path, { poolSize: config.database.pool_size, checkpointIntervalMs: config.database.checkpoint_interval_ms, logger, listen: false });
  let scanner;
  try {
    scanner = await startStandaloneScanner({ host, port, deps: { vulndb: new VulnDb({ db: db.kysely, logger }), logger, concurrency: config.scanning.concurrency, gzipDecoder: config.scanning.gzip_decoder, zstdDecoder: config.scanning.zstd_decoder, version: pkg.version } });
  } catch (err) {
    await db.close();
    throw err;
  }
  logger.info({ url: scanner.url, metadata: `${scanner.url}/api/v1/metadata` }, 'wharf scanner is serving');
  const running = scanner;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'scanner shutting down: stopping scans in flight');
    running.close().then(
      () => db.close().then(() => process.exit(0)),
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => {});
}

/** The command line: `wharf serve | gc | vulndb | scanner | help`. */
export async function main(argv: string[]): Promise<number> {
  const cmd = argv[0] ?? 'serve';
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
    console.log(usage);
    return 0;
  }
  if (cmd !== 'serve' && cmd !== 'gc' && cmd !== 'vulndb' && cmd !== 'scanner') {
    console.error(`unknown command: ${cmd}\n\n${usage}`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  limitHeapGrowth(config.server.heap_growth_percent);
  if (cmd === 'vulndb') return vulndbCommand(config, argv.slice(1));
  if (cmd === 'scanner') return scannerCommand(config, argv.slice(1));
  const wharf = await createWharf(config);
  if (cmd === 'gc') {
    const report = await wharf.gc();
    console.log(JSON.stringify(report, null, 2));
    await wharf.close();
    return 0;
  }
  const url = await wharf.listen();
  wharf.logger.info({ url, external_url: config.external_url, data_dir: config.data_dir }, 'wharf is serving');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    wharf.logger.info({ signal }, 'shutting down: finishing in-flight requests');
    wharf.close().then(
      () => process.exit(0),
      (err: unknown) => {
        wharf.logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => {});
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
