/**
 * Wharf's one configuration schema: every option, its type, its default and its meaning.
 * Sources, later winning: defaults < wharf.yaml < WHARF_* environment variables.
 * docs/config.md documents the same options; a test keeps the two in step.
 */
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
const list = z.union([z.array(z.string()), z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))]);
const numList = z.union([
  z.array(z.coerce.number().min(0)),
  z.string().transform((s, ctx) => {
    const out = s.split(',').map((x) => Number(x.trim()));
    if (out.some((n) => !Number.isFinite(n) || n < 0)) {
      ctx.addIssue({ code: 'custom', message: 'expected a comma-separated list of non-negative numbers' });
    }
    return out;
  }),
]);

/** The validated configuration schema. */
export const configSchema = z
  .object({
    /** Address to listen on. */
    host: z.string().default('0.0.0.0'),
    /** TCP port; 0 picks a free one (tests). */
    port: port.default(5000),
    /** Folder for everything Wharf keeps: the SQLite file and the blobs, unless set apart. */
    data_dir: z.string().default('./data'),
    /** The URL clients use to reach Wharf; used in webhook payloads, token realms and Location headers. */
    external_url: z.string().url().optional(),
    /** Password of the system admin `admin`, used on first start only. Generated and logged once when unset. */
    admin_password: z.string().min(8).optional(),
    /** pino log level. */
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    server: z
      .object({
        /** Seconds a client has to send a request's line and headers (and a new connection its first byte). */
        headers_timeout_seconds: z.coerce.number().int().min(1).max(3600).default(20),
        /** A request body (or response) that moves no byte for this many seconds is dropped; uploads that progress have no total limit. */
        stall_timeout_seconds: z.coerce.number().int().min(1).max(3600).default(30),
        /** Seconds for the whole of a body Wharf reads into memory (manifests, API JSON); blob uploads are exempt. */
        body_timeout_seconds: z.coerce.number().int().min(1).max(86_400).default(60),
        /** Seconds an idle keep-alive connection stays open between requests. */
        keep_alive_timeout_seconds: z.coerce.number().int().min(1).max(3600).default(65),
        /**
         * Addresses or CIDR ranges of reverse proxies (load balancers) whose X-Forwarded-For is
         * believed: the client address (failed-login limits, audit) is then the one they forwarded.
         */
        trust_proxy: list.default([]),
        /**
         * How far V8 lets the JavaScript heap grow past what its last full GC kept, in percent
         * (src/platform/heap.ts); 0 (the default) leaves it to V8, which lets it reach two to four
         * times that. Low values save memory under a pull load and cost CPU in allocation-heavy work.
         */
        heap_growth_percent: z.coerce.number().int().min(0).max(400).default(0),
      })
      .default({ headers_timeout_seconds: 20, stall_timeout_seconds: 30, body_timeout_seconds: 60, keep_alive_timeout_seconds: 65, trust_proxy: [], heap_growth_percent: 0 }),
    /** HTTPS (docs/tls.md): a certificate from files, or generated with a private CA (`auto`, Harbor's certSource auto). */
    tls: z
      .object({
        /** PEM certificate to serve (the server's first, then intermediates); with `key_file`. */
        cert_file: z.string().min(1).optional(),
        /** PEM private key of `cert_file`. */
        key_file: z.string().min(1).optional(),
        /** PEM CA certificate /api/v2.0/systeminfo/getcert offers clients when `cert_file` is used (with `auto`: the generated CA). */
        ca_file: z.string().min(1).optional(),
        /** Generate a private CA and a server certificate in `<data_dir>/tls/` on first start, and renew the certificate before it expires. */
        auto: bool.default(false),
        /** `auto`: DNS names and IP addresses the certificate covers besides external_url's host (localhost, 127.0.0.1 and ::1 always). */
        alt_names: list.default([]),
        /** `auto`: a certificate with fewer days left is renewed (with the same CA); checked at start and daily. */
        renew_before_days: z.coerce.number().int().min(1).max(3650).default(30),
        /** `auto`: days each generated server certificate is valid. */
        validity_days: z.coerce.number().int().min(2).max(3650).default(365),
        /** Offer HTTP/2 (ALPN `h2`) beside HTTP/1.1; see docs/tls.md for what differs. */
        http2: bool.default(false),
        /** Also listen on this port for plain HTTP and answer every request with a 308 to the same path on external_url. */
        redirect_port: port.optional(),
        /** PEM CA certificates outgoing HTTPS (webhooks, replication, scanner adapters) trust besides the system's roots. */
        trusted_ca_files: list.default([]),
      })
      .superRefine((t, ctx) => {
        if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
          ctx.addIssue({ code: 'custom', path: [t.cert_file === undefined ? 'cert_file' : 'key_file'], message: 'cert_file and key_file go together: set both or neither' });
        }
        if (t.auto && t.cert_file !== undefined) ctx.addIssue({ code: 'custom', path: ['auto'], message: 'auto generates the certificate: leave cert_file and key_file unset, or auto false' });
        if (t.renew_before_days >= t.validity_days) ctx.addIssue({ code: 'custom', path: ['renew_before_days'], message: 'must be smaller than validity_days' });
      })
      .default({ auto: false, alt_names: [], renew_before_days: 30, validity_days: 365, http2: false, trusted_ca_files: [] }),
    metrics: z
      .object({
        /** /metrics requires a system admin's Basic credentials or `metrics.token`; false leaves it open. */
        auth: bool.default(true),
        /** A bearer token a scraper may send instead (`Authorization: Bearer <token>`), at least 16 characters. */
        token: z.string().min(16).optional(),
      })
      .default({ auth: true }),
    database: z
      .object({
        /** SQLite database file; default `<data_dir>/wharf.db`. */
        path: z.string().optional(),
        /** A PostgreSQL database (`postgres://user:password@host:port/name`) instead of the SQLite file: several instances share it. */
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\/\S+$/i, 'must be a postgres:// URL (postgres://user:password@host:5432/database)')
          .optional(),
        /** PostgreSQL: most connections each instance opens (its pool). */
        pool_size: z.coerce.number().int().min(2).max(500).default(10),
        /** Milliseconds between WAL checkpoints in the checkpoint worker thread; 0: no worker, SQLite checkpoints inside commits. */
        checkpoint_interval_ms: z.coerce.number().int().min(0).max(60_000).default(500),
        /** WAL size in MiB past which the worker restarts the WAL (briefly holding writers back); truncated when writes pause. */
        wal_limit_mb: z.coerce.number().int().positive().default(64),
      })
      .default({ pool_size: 10, checkpoint_interval_ms: 500, wal_limit_mb: 64 }),
    storage: z
      .object({
        /** Blob storage driver: `filesystem` (under `root`) or `s3` (a bucket of an S3-compatible server, `storage.s3`). */
        driver: z.enum(['filesystem', 's3']).default('filesystem'),
        /** Root folder of the filesystem driver; default `<data_dir>/storage`. */
        root: z.string().optional(),
        /** The S3 driver's bucket and how to reach it (docs/storage-s3.md). */
        s3: z
          .object({
            /** The server's URL (`http://127.0.0.1:7480`); absent: AWS S3 in `region`. */
            endpoint: z.string().url().optional(),
            region: z.string().min(1).default('us-east-1'),
            bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a bucket name: 3 to 63 lower-case letters, digits, dots and dashes'),
            /** Static credentials; both or neither (then the SDK's chain: AWS_* variables, profile, instance role). */
            access_key: z.string().min(1).optional(),
            secret_key: z.string().min(1).optional(),
            /** `http://host/bucket/key` instead of `http://bucket.host/key` (most self-hosted servers). */
            force_path_style: bool.default(false),
            /** Prepended to every key, so that several registries can share a bucket. */
            prefix: z.string().regex(/^[A-Za-z0-9!_.*'()\/-]*$/, 'may hold letters, digits, slashes and !_.*\'()- only').default(''),
          })
          .superRefine((s, ctx) => {
            if ((s.access_key === undefined) !== (s.secret_key === undefined)) {
              ctx.addIssue({ code: 'custom', path: [s.access_key === undefined ? 'access_key' : 'secret_key'], message: 'access_key and secret_key go together: set both or neither' });
            }
          })
          .optional(),
        /** Blob GETs answer 307 to a presigned URL of the object (s3 driver only); HEADs and manifests are served as before. */
        redirect: bool.default(false),
        /** Seconds a redirect's presigned URL stays valid. */
        redirect_expiry_seconds: z.coerce.number().int().min(1).max(7 * 24 * 3600).default(1200),
      })
      .superRefine((s, ctx) => {
        if (s.driver === 's3' && !s.s3) ctx.addIssue({ code: 'custom', path: ['s3', 'bucket'], message: 'required when storage.driver is s3' });
        if (s.redirect && s.driver !== 's3') ctx.addIssue({ code: 'custom', path: ['redirect'], message: 'redirects need storage.driver s3' });
      })
      .default({ driver: 'filesystem', redirect: false, redirect_expiry_seconds: 1200 }),
    registry: z
      .object({
        /** Largest manifest accepted, in bytes. */
        max_manifest_bytes: z.coerce.number().int().positive().default(4 * 1024 * 1024),
        /** Abandoned uploads older than this many seconds are removed by `wharf gc`. */
        upload_grace_seconds: z.coerce.number().int().min(0).default(24 * 3600),
      })
      .default({ max_manifest_bytes: 4 * 1024 * 1024, upload_grace_seconds: 24 * 3600 }),
    webhooks: z
      .object({
        /** Per-request timeout for deliveries, in milliseconds (a target may set its own). */
        timeout_ms: z.coerce.number().int().positive().default(10_000),
        /** Bytes of each response body kept in the delivery history. */
        response_body_limit: z.coerce.number().int().min(0).default(4096),
        /** Delay before each attempt, in seconds; the first is the immediate attempt. */
        retry_schedule: numList.default([0, 10, 60, 300, 1800, 7200, 21600, 43200]),
        /** A target failing continuously for this many seconds is disabled. */
        disable_after_seconds: z.coerce.number().int().positive().default(24 * 3600),
        /** Deliveries in flight at once for one target address. */
        per_target_concurrency: z.coerce.number().int().positive().default(64),
        /** Deliveries in flight at once for all targets of one project's policies (system-wide policies count as one project). */
        per_project_concurrency: z.coerce.number().int().positive().default(256),
        /** Deliveries in flight at once in this process. */
        max_in_flight: z.coerce.number().int().positive().default(1024),
        /**
         * Allow every policy's targets on private address ranges (10/8, 172.16/12, 192.168/16,
         * fc00::/7, loopback). Default false: only targets a system admin saved, or in `allow_list`.
         */
        allow_private_targets: bool.default(false),
        /** Hosts or CIDR ranges any policy may target although private (never link-local/metadata). */
        allow_list: list.default([]),
        /** Delivery history older than this many days is pruned. */
        history_max_age_days: z.coerce.number().int().positive().default(30),
        /** At most this many executions are kept per policy. */
        history_max_per_policy: z.coerce.number().int().positive().default(1000),
        /** Run the dispatcher, the delivery worker and the audit writer in a worker thread (default false: in the main thread). */
        delivery_thread: bool.default(false),
      })
      .default({
        timeout_ms: 10_000,
        response_body_limit: 4096,
        retry_schedule: [0, 10, 60, 300, 1800, 7200, 21600, 43200],
        disable_after_seconds: 24 * 3600,
        per_target_concurrency: 64,
        per_project_concurrency: 256,
        max_in_flight: 1024,
        allow_private_targets: false,
        allow_list: [],
        history_max_age_days: 30,
        history_max_per_policy: 1000,
        delivery_thread: false,
      }),
    quota: z
      .object({
        /** QUOTA_WARNING is sent when a push takes a project's usage to this percentage of its limit or above. */
        warning_percent: z.coerce.number().int().min(1).max(100).default(85),
      })
      .default({ warning_percent: 85 }),
    audit: z
      .object({
        /** Audit log entries older than this many days are pruned. */
        retention_days: z.coerce.number().int().positive().default(90),
        /** How often the audit writer reads new outbox events, in milliseconds (it also wakes on each append). */
        poll_ms: z.coerce.number().int().positive().default(1000),
      })
      .default({ retention_days: 90, poll_ms: 1000 }),
    jobs: z
      .object({
        /** How often a process looks for due schedules and claimable tasks, in milliseconds (it also wakes on each new run). */
        poll_ms: z.coerce.number().int().positive().default(1000),
        /** A running task's lease, in seconds; renewed every third of it. A dead worker's task is claimed again once it expires. */
        lease_seconds: z.coerce.number().int().min(1).max(3600).default(30),
        /** Tasks of one kind of job running at once in one process (a kind may set its own). */
        concurrency: z.coerce.number().int().positive().default(1),
        /** Runs a task may have in all: a task whose worker died is run again until this, then ends Error. */
        max_runs: z.coerce.number().int().min(1).max(10).default(2),
        /** Finished executions older than this many days are deleted with their tasks and logs. */
        history_max_age_days: z.coerce.number().int().positive().default(30),
        /** At most this many finished executions are kept per kind of job. */
        history_max_per_type: z.coerce.number().int().positive().default(50),
      })
      .default({ poll_ms: 1000, lease_seconds: 30, concurrency: 1, max_runs: 2, history_max_age_days: 30, history_max_per_type: 50 }),
    auth: z
      .object({
        /** Lifetime of the bearer tokens /service/token issues, in seconds. */
        token_ttl_seconds: z.coerce.number().int().min(1).max(86_400).default(300),
        /** Failed logins of one user name within the window before the name is locked. */
        login_max_failures_per_user: z.coerce.number().int().positive().default(10),
        /** Failed logins from one client address within the window before the address is locked. */
        login_max_failures_per_address: z.coerce.number().int().positive().default(50),
        /** The failed-login window and lock length, in seconds. */
        login_window_seconds: z.coerce.number().int().positive().default(300),
      })
      .default({ token_ttl_seconds: 300, login_max_failures_per_user: 10, login_max_failures_per_address: 50, login_window_seconds: 300 }),
    /** The web console (docs/console.md): static files under /harbor/ and browser sessions. */
    console: z
      .object({
        /** Serve the console under /harbor/ and accept browser sign-in at /c/login; false: neither. */
        enabled: bool.default(true),
        /** Folder of the built console (`npm run build`); default: the package's dist/console. */
        dir: z.string().optional(),
        /** A browser session idle for this many minutes ends (it ends 12 hours after sign-in in any case). */
        session_timeout_minutes: z.coerce.number().int().min(1).max(720).default(30),
      })
      .default({ enabled: true, session_timeout_minutes: 30 }),
    /** Vulnerability scanning and SBOMs (docs/scanning.md). */
    scanning: z
      .object({
        /** Serve the built-in scanner (Harbor's Pluggable Scanner API) under /scanner/api/v1 and register it as `Wharf` on first start. */
        builtin: bool.default(true),
        /** Scans (IMAGE_SCAN and SBOM tasks) running at once in one process. */
        concurrency: z.coerce.number().int().positive().default(2),
        /** Artifacts a scan-all run submits per batch; the next batch waits until its tasks are done. */
        scan_all_batch: z.coerce.number().int().positive().default(50),
        /** Lifetime of the pull credential a scan hands the adapter, in seconds. */
        credential_ttl_seconds: z.coerce.number().int().min(60).max(86_400).default(1800),
        /** Per request to an adapter, in seconds. */
        adapter_timeout_seconds: z.coerce.number().int().positive().default(10),
        /** A report still not ready after this many seconds of polling ends the scan Error. */
        report_timeout_seconds: z.coerce.number().int().positive().default(1800),
        /** How the built-in scanner inflates gzip layers: `auto` (ISA-L's igzip when installed, else zlib), `zlib`, or an igzip program's path. */
        gzip_decoder: z.string().min(1).default('auto'),
        /** How the built-in scanner decompresses zstd layers: `auto` (the zstd program when installed, else built in), `builtin`, or a zstd program's path. */
        zstd_decoder: z.string().min(1).default('auto'),
        /** The base URL adapters pull from (`registry.url` of a scan request); default: the server's own listening address. */
        registry_url: z.string().url().optional(),
        /** The built-in scanner's vulnerability database (OSV records, kept in Wharf's database). */
        vulndb: z
          .object({
            /** Where `wharf vulndb update` and the schedule fetch `<ecosystem>/all.zip` from. */
            source: z.string().url().default('https://osv-vulnerabilities.storage.googleapis.com'),
            /** OSV ecosystems fetched by an update. */
            ecosystems: z.array(z.string().min(1)).default(['Debian', 'Ubuntu', 'Alpine', 'Rocky Linux', 'AlmaLinux', 'npm', 'PyPI', 'Go', 'Maven']),
            /** When the update runs: None, Hourly, Daily, Weekly or a 6-field cron (seconds first). */
            update_schedule: z.string().default('Daily'),
          })
          .default({ source: 'https://osv-vulnerabilities.storage.googleapis.com', ecosystems: ['Debian', 'Ubuntu', 'Alpine', 'Rocky Linux', 'AlmaLinux', 'npm', 'PyPI', 'Go', 'Maven'], update_schedule: 'Daily' }),
      })
      .default({
        builtin: true,
        concurrency: 2,
        scan_all_batch: 50,
        credential_ttl_seconds: 1800,
        adapter_timeout_seconds: 10,
        report_timeout_seconds: 1800,
        gzip_decoder: 'auto',
        zstd_decoder: 'auto',
        vulndb: { source: 'https://osv-vulnerabilities.storage.googleapis.com', ecosystems: ['Debian', 'Ubuntu', 'Alpine', 'Rocky Linux', 'AlmaLinux', 'npm', 'PyPI', 'Go', 'Maven'], update_schedule: 'Daily' },
      }),
    /** OpenTelemetry traces over OTLP/HTTP (docs/observability.md). Off: the SDK is not even loaded. */
    tracing: z
      .object({
        /** Export spans; default false. */
        enabled: bool.default(false),
        /** The collector's OTLP/HTTP traces URL (Jaeger, Tempo, the OpenTelemetry Collector). */
        endpoint: z.string().url().default('http://127.0.0.1:4318/v1/traces'),
        /** Fraction of new traces sampled, 0..1; a request whose caller sampled it (traceparent) follows the caller. */
        sample_ratio: z.coerce.number().min(0).max(1).default(1),
        /** The `service.name` resource attribute. */
        service_name: z.string().min(1).default('wharf'),
        /** Extra headers sent to the collector (an API key); in a variable as `name=value,name=value`. */
        headers: z
          .union([
            z.record(z.string(), z.string()),
            z.string().transform((s) => Object.fromEntries(s.split(',').map((p) => p.trim()).filter(Boolean).map((p) => [p.slice(0, p.indexOf('=')).trim(), p.slice(p.indexOf('=') + 1).trim()]))),
          ])
          .default({}),
        /** Milliseconds between exports of finished spans. */
        export_interval_ms: z.coerce.number().int().positive().default(2000),
      })
      .default({ enabled: false, endpoint: 'http://127.0.0.1:4318/v1/traces', sample_ratio: 1, service_name: 'wharf', headers: {}, export_interval_ms: 2000 }),
  })
  .strict();

/** Configuration as read from files and the environment, before defaults derived from other keys. */
export type RawConfig = z.input<typeof configSchema>;

/** Fully resolved configuration: every path absolute, every derived default filled in. */
export type Config = Omit<z.output<typeof configSchema>, 'external_url' | 'database' | 'storage' | 'console'> & {
  external_url: string;
  console: { enabled: boolean; dir: string; session_timeout_minutes: number };
  database: { path: string; url?: string; pool_size: number; checkpoint_interval_ms: number; wal_limit_mb: number };
  storage: StorageConfig;
};

/** The resolved `storage` section: the filesystem driver's root always resolved, `s3` when set. */
export type StorageConfig = Omit<z.output<typeof configSchema>['storage'], 'root'> & { root: string };
