/**
 * The server's certificate, from files or generated (`tls.auto`), kept current while Wharf runs
 * (docs/tls.md):
 *
 * - files: `cert_file`/`key_file` are read at start; when either changes on disk the pair is read
 *   again and, once the key matches the certificate, handed to the server (`setSecureContext`):
 *   new connections get it, open ones keep theirs. A half-written pair is skipped until it is whole.
 * - auto: `<dir>/ca.crt` + `ca.key` (a private CA, made on first start and kept) and
 *   `<dir>/server.crt` (certificate + CA, the chain) + `server.key`. The server certificate is
 *   (re)issued by that CA when missing, when it has fewer than `renewBeforeDays` days left, or when
 *   it no longer covers the configured names; checked at start and then daily. Keys are mode 0600.
 */
import { watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { basename, dirname, join, resolve } from 'node:path';
import { isIP } from 'node:net';
import { certificateFacts, generateCa, issueServerCertificate, type KeyPairPem } from './certificates.ts';

/** Where the server's certificate comes from. */
export type CertificateSource =
  | { kind: 'files'; certFile: string; keyFile: string; /** Served by /systeminfo/getcert when set. */ caFile?: string }
  | {
      kind: 'auto';
      /** Folder of ca.crt, ca.key, server.crt, server.key. */
      dir: string;
      /** DNS names and IP addresses the server certificate covers; the first is its common name. */
      names: readonly string[];
      renewBeforeDays: number;
      /** Lifetime of each server certificate. */
      validityDays: number;
    };

/** What the manager tells its owner (a pino logger fits). */
export interface CertificateLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** A server that takes a new certificate without a restart (https.Server, http2.Http2SecureServer). */
export interface SecureContextTarget {
  setSecureContext(options: { cert: string; key: string }): void;
}

const caValidityDays = 3650;
const dayMs = 24 * 3600 * 1000;
/** Editors and `cp` write in several steps: wait this long after the last change before reading. */
const settleMs = 150;

/** A name in one spelling (IPv6 addresses compressed, DNS names lower case). */
function canonicalName(n: string): string {
  return isIP(n) === 6 ? new URL(`http://[${n}]`).hostname.slice(1, -1) : n.toLowerCase();
}

async function writeSecret(path: string, text: string): Promise<void> {
  // Written aside, then renamed: a reader (the watcher, an operator's copy) never sees half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

async function writePublic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, path);
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The server certificate: load, generate, renew, watch. Build with {@link CertificateManager.open}. */
export class CertificateManager {
  private current: KeyPairPem = { cert: '', key: '' };
  private ca: string | null = null;
  private readonly targets: SecureContextTarget[] = [];
  private readonly watchers: FSWatcher[] = [];
  private settle: NodeJS.Timeout | undefined;
  private daily: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly source: CertificateSource,
    private readonly log: CertificateLog,
  ) {}

  /** Reads (or, with `auto`, generates or renews) the certificate. Throws when it cannot be served. */
  static async open(source: CertificateSource, log: CertificateLog, now = new Date()): Promise<CertificateManager> {
    const m = new CertificateManager(source, log);
    if (source.kind === 'auto') await m.ensureAuto(now);
    await m.load();
    return m;
  }

  /** The certificate chain and key to serve now. */
  secureContextOptions(): KeyPairPem {
    return { ...this.current };
  }

  /** The CA certificate (PEM) clients should trust: the generated CA, or `caFile`; null when there is none. */
  caCertificate(): string | null {
    return this.ca;
  }

  /** Where /systeminfo/getcert looks for the CA certificate (named in its 404, as Harbor names its path). */
  caPath(): string {
    const s = this.source;
    return s.kind === 'auto' ? join(s.dir, 'ca.crt') : resolve(s.caFile ?? join(dirname(s.certFile), 'ca.crt'));
  }

  /** The serial number of the certificate being served (hex). */
  serial(): string {
    return certificateFacts(this.current.cert).serial;
  }

  private files(): { cert: string; key: string } {
    const s = this.source;
    return s.kind === 'files' ? { cert: resolve(s.certFile), key: resolve(s.keyFile) } : { cert: join(s.dir, 'server.crt'), key: join(s.dir, 'server.key') };
  }

  /** Reads the served pair (and the CA); throws when the key does not match the certificate. */
  private async load(): Promise<void> {
    const f = this.files();
    const pair = { cert: await readFile(f.cert, 'utf8'), key: await readFile(f.key, 'utf8') };
    createSecureContext(pair); // throws on a bad PEM or a key that is not the certificate's
    certificateFacts(pair.cert);
    this.current = pair;
    const caFile = this.source.kind === 'auto' ? join(this.source.dir, 'ca.crt') : this.source.caFile;
    this.ca = caFile === undefined ? null : await readIfExists(caFile);
  }

  /** auto: makes the CA on first start, and a server certificate when missing, near expiry or for other names. */
  private async ensureAuto(now: Date): Promise<void> {
    if (this.source.kind !== 'auto') return;
    const { dir, names, renewBeforeDays, validityDays } = this.source;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const caCrt = join(dir, 'ca.crt');
    const caKey = join(dir, 'ca.key');
    let ca: KeyPairPem;
    const [crtText, keyText] = [await readIfExists(caCrt), await readIfExists(caKey)];
    if (crtText !== null && keyText !== null) {
      ca = { cert: crtText, key: keyText };
    } else {
      if (crtText !== null || keyText !== null) throw new Error(`tls.auto: ${dir} holds only one of ca.crt and ca.key; restore the other or remove both to make a new CA`);
      ca = await generateCa(`Wharf CA ${names[0] ?? ''}`.trim(), now, caValidityDays);
      await writeSecret(caKey, ca.key);
      await writePublic(caCrt, ca.cert);
      this.log.info({ ca: caCrt }, 'tls.auto: created a private CA; clients trust it with /api/v2.0/systeminfo/getcert (docs/tls.md)');
    }
    const f = this.files();
    const existing = await readIfExists(f.cert);
    const reason = existing === null ? 'none yet' : this.renewalReason(existing, ca.cert, now);
    if (reason === null) return;
    const issued = await issueServerCertificate(ca, names, now, validityDays);
    await writeSecret(f.key, issued.key);
    await writePublic(f.cert, issued.cert);
    const facts = certificateFacts(issued.cert);
    this.log.info({ serial: facts.serial, not_after: facts.notAfter.toISOString(), names, reason }, 'tls.auto: issued the server certificate');
  }

  /** Why an auto server certificate must be issued again, or null when it is fine. */
  private renewalReason(certPem: string, caPem: string, now: Date): string | null {
    if (this.source.kind !== 'auto') return null;
    let facts;
    try {
      facts = certificateFacts(certPem);
    } catch {
      return 'unreadable';
    }
    if (!facts.signedBy(caPem)) return 'signed by another CA';
    if (facts.notAfter.getTime() - now.getTime() < this.source.renewBeforeDays * dayMs) return `fewer than ${this.source.renewBeforeDays} days left`;
    const have = new Set(facts.names.map(canonicalName));
    if (this.source.names.some((n) => !have.has(canonicalName(n)))) return 'names changed';
    return null;
  }

  /**
   * Hands every later change to `server`: file changes (both kinds) and, with `auto`, the daily
   * renewal check. Call once the server exists; {@link close} stops it.
   */
  watch(server: SecureContextTarget): void {
    this.targets.push(server);
    if (this.watchers.length > 0) return;
    const f = this.files();
    const byDir = new Map<string, Set<string>>();
    for (const p of [f.cert, f.key]) byDir.set(dirname(p), (byDir.get(dirname(p)) ?? new Set()).add(basename(p)));
    // The folder, not the file: a file replaced by rename (cp to a temp name, mv; cert-manager) keeps being seen.
    for (const [dir, names] of byDir) {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || names.has(name.toString())) this.schedule();
      });
      w.on('error', (err) => this.log.warn({ err, dir }, 'tls: stopped watching the certificate folder'));
      this.watchers.push(w);
    }
    if (this.source.kind === 'auto') {
      this.daily = setInterval(() => void this.renewNow(new Date()), dayMs);
      this.daily.unref();
    }
  }

  private schedule(): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => void this.reload(), settleMs);
    this.settle.unref();
  }

  /** Re-reads the files and, when they changed and are a valid pair, serves them. */
  async reload(): Promise<boolean> {
    if (this.closed) return false;
    const before = this.current.cert;
    try {
      await this.load();
    } catch (err) {
      this.log.warn({ err }, 'tls: the certificate files changed but are not a usable pair yet; still serving the previous certificate');
      return false;
    }
    if (this.current.cert === before) return false;
    for (const t of this.targets) t.setSecureContext(this.current);
    this.log.info({ serial: this.serial(), not_after: certificateFacts(this.current.cert).notAfter.toISOString() }, 'tls: serving a new certificate');
    return true;
  }

  /** auto: the renewal check (at `now`); issues and serves a new certificate when due. */
  async renewNow(now: Date): Promise<void> {
    try {
      await this.ensureAuto(now);
      await this.reload();
    } catch (err) {
      this.log.warn({ err }, 'tls.auto: the renewal check failed; it runs again tomorrow');
    }
  }

  /** Stops watching. */
  close(): void {
    this.closed = true;
    clearTimeout(this.settle);
    clearInterval(this.daily);
    for (const w of this.watchers.splice(0)) w.close();
  }
}
