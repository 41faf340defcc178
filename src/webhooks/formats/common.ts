/**
 * Helpers the payload formats share: JSON encoded the way Go's encoding/json encodes it (Harbor
 * and the CNCF registry are Go programs and receivers were written against their bytes), the
 * timestamp layouts those programs print, repository-name splitting, the URLs that go into
 * payloads, and safe truncation for chat targets. Everything here is pure.
 */
import type { EventType, RelaySource, ScanEvent, SystemEventType, WharfEvent } from '../../events/index.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces lone UTF-16 surrogates by U+FFFD, as Go does with invalid UTF-8 when it encodes JSON. */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

/**
 * JSON text the way Go's `json.Marshal` (no indent) or `json.MarshalIndent(v, "", indent)` writes
 * it: key order is insertion order (build objects in the Go struct's field order), `undefined`
 * members are left out (Go's omitempty is applied by the caller), and `<`, `>`, `&`, U+2028 and
 * U+2029 are written as `\u003c`-style escapes. Those characters can only occur inside strings,
 * so replacing them in the serialized text is exact.
 */
export function goJson(value: unknown, indent?: string): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? wellFormed(v) : v), indent);
  return (text ?? 'null').replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The object with its keys sorted, as Go prints a `map[string]T`. Values are left as they are. */
export function sortedMap<T>(m: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m).sort()) {
    const v = m[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Go's omitempty test: false, 0, "", null/undefined, and empty arrays and maps are "empty". */
export function isGoEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

/** One field of a Go struct: its JSON name and whether it carries `omitempty`. */
export type GoField = readonly [name: string, omitEmpty: boolean];

/**
 * Re-emits an opaque record in a Go struct's field order: known fields first (empty ones dropped
 * when the field is omitempty), then any unknown fields in their original order.
 */
export function inStructOrder(record: Record<string, unknown>, fields: readonly GoField[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known = new Set<string>();
  for (const [name, omitEmpty] of fields) {
    known.add(name);
    if (!Object.hasOwn(record, name)) continue;
    const v = record[name];
    if (v === undefined || (omitEmpty && isGoEmpty(v))) continue;
    out[name] = v;
  }
  for (const [k, v] of Object.entries(record)) if (!known.has(k) && v !== undefined) out[k] = v;
  return out;
}

/** True for a plain JSON object (not an array, not null). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Unix seconds from ms since epoch (Harbor's `occur_at`, `date_created`). */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** RFC 3339 in UTC with whole seconds, `2023-04-03T06:04:46Z` (Go's `time.Unix(s, 0)` in JSON). */
export function rfc3339Seconds(ms: number): string {
  return new Date(unixSeconds(ms) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * RFC 3339 in UTC with the fraction Go's `time.RFC3339Nano` prints: trailing zeros dropped, and
 * the dot too when nothing is left (`…:31.5Z`, `…:31Z`). Wharf keeps milliseconds.
 */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac === '' ? 'Z' : `.${frac}Z`));
}

/**
 * The external URL without its scheme, as Harbor's `config.ExtURL()` gives it: `host[:port]`
 * (the default port dropped, host lowercased) plus any path prefix, with no trailing slash.
 */
export function externalHost(externalUrl: string): string {
  try {
    const u = new URL(externalUrl);
    return `${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return externalUrl.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
  }
}

/** The external URL with no trailing slash, for links that keep the scheme. */
export function externalBase(externalUrl: string): string {
  return externalUrl.replace(/\/+$/, '');
}

/** `library/a/b` -> `a/b`: the repository name without its project (Harbor's `repository.name`). */
export function repoShortName(fullName: string): string {
  const i = fullName.indexOf('/');
  return i < 0 ? fullName : fullName.slice(i + 1);
}

/** True when a reference is a digest (`algo:hex`); tags cannot contain a colon. */
export function isDigestRef(ref: string): boolean {
  return ref.includes(':');
}

/** `host/project/repo:tag`, or `host/project/repo@sha256:…` when `ref` is a digest. No scheme. */
export function imageReference(externalUrl: string, repoFullName: string, ref: string): string {
  return `${externalHost(externalUrl)}/${repoFullName}${isDigestRef(ref) ? '@' : ':'}${ref}`;
}

/**
 * The web page of an artifact, for chat links. Wharf's console follows Harbor's portal routes,
 * `/harbor/projects/{id}/repositories/{repo without project, URL-encoded}/artifacts-tab/artifacts/{digest}`,
 * so links written for Harbor keep working.
 */
export function artifactWebUrl(externalUrl: string, projectId: number, repoFullName: string, digest: string): string {
  const repo = encodeURIComponent(repoShortName(repoFullName));
  return `${externalBase(externalUrl)}/harbor/projects/${projectId}/repositories/${repo}/artifacts-tab/artifacts/${digest}`;
}

/** The web page of a project, for chat links. */
export function projectWebUrl(externalUrl: string, projectId: number): string {
  return `${externalBase(externalUrl)}/harbor/projects/${projectId}`;
}

/** `scheme://host[:port]` of a URL, without credentials, path or query (safe to show anywhere). */
export function urlOrigin(address: string): string {
  try {
    const u = new URL(address);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '';
  }
}

/** Every event type a formatter can be asked about. */
export type AnyEventType = EventType | SystemEventType;

/** Human labels, as Harbor's console names its event types; Wharf's additions in the same voice. */
export const eventLabels: Readonly<Record<AnyEventType, string>> = {
  PUSH_ARTIFACT: 'Artifact pushed',
  PULL_ARTIFACT: 'Artifact pulled',
  DELETE_ARTIFACT: 'Artifact deleted',
  QUOTA_EXCEED: 'Quota exceed',
  QUOTA_WARNING: 'Quota near threshold',
  SCANNING_FAILED: 'Scanning failed',
  SCANNING_STOPPED: 'Scanning stopped',
  SCANNING_COMPLETED: 'Scanning finished',
  REPLICATION: 'Replication status changed',
  TAG_RETENTION: 'Tag retention finished',
  CREATE_TAG: 'Tag created',
  DELETE_TAG: 'Tag deleted',
  CREATE_REPOSITORY: 'Repository created',
  DELETE_REPOSITORY: 'Repository deleted',
  CREATE_PROJECT: 'Project created',
  DELETE_PROJECT: 'Project deleted',
  ARTIFACT_LABELED: 'Artifact labeled',
  WEBHOOK_TARGET_DISABLED: 'Webhook target disabled',
};

/** What a chat message says about an event: the facts the Slack and Discord formats render. */
export interface EventSummary {
  label: string;
  project: string | null;
  repository: string | null;
  /** The tag the event is about (pushed, pulled, created, deleted), when there is one. */
  tag: string | null;
  /** Every tag of the artifact, when known. */
  tags: string[];
  digest: string | null;
  /** `host/repo:tag` or `host/repo@digest`, when the event is about an artifact. */
  image: string | null;
  /** A web link, when there is something to look at. */
  link: string | null;
  /** One line of extra detail (quota text, scan results, replication status, ...). */
  detail: string | null;
  /** The results of a scan event; null for other events. */
  scan: ScanFacts | null;
}

/** The severities chat messages count, highest first (Harbor's words). */
export const scanSeverities = ['Critical', 'High', 'Medium', 'Low', 'Unknown'] as const;
/** One of {@link scanSeverities}. */
export type ScanSeverity = (typeof scanSeverities)[number];

/** What a scan event says, read from its Harbor overview and Wharf's fields. */
export interface ScanFacts {
  scanType: 'vulnerability' | 'sbom';
  /** The report's `scan_status` (`Success`, `Error`, `Stopped`), else the event type's. */
  status: string;
  /** The report's highest severity (`High`, `None`), or null when it has none. */
  severity: string | null;
  /** Findings per severity, when the report has a summary (a completed vulnerability scan). */
  counts: Readonly<Record<ScanSeverity, number>> | null;
  total: number | null;
  fixable: number | null;
  /** `Trivy v0.37.2` */
  scanner: string | null;
  /** The SBOM accessory's digest (completed SBOM scans). */
  sbomDigest: string | null;
  error: string | null;
  platform: string | null;
  parentDigest: string | null;
}

const statusOfType: Readonly<Record<ScanEvent['type'], string>> = {
  SCANNING_COMPLETED: 'Success',
  SCANNING_FAILED: 'Error',
  SCANNING_STOPPED: 'Stopped',
};

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * The report a scan event's overview holds: for an SBOM scan the overview itself, for a
 * vulnerability scan the value under the first report MIME type (in sorted order; when a
 * scanner produced both MIME types they summarise the same findings).
 */
export function scanReport(event: ScanEvent): Record<string, unknown> | null {
  if (event.scanType === 'sbom') return Object.keys(event.overview).length > 0 ? event.overview : null;
  for (const k of Object.keys(event.overview).sort()) {
    const r = event.overview[k];
    if (isRecord(r)) return r;
  }
  return null;
}

/** The facts of a scan event that chat messages and MSR show. */
export function scanFacts(event: ScanEvent): ScanFacts {
  const r = scanReport(event) ?? {};
  const outer = r['summary'];
  const bySeverity = isRecord(outer) && isRecord(outer['summary']) ? outer['summary'] : null;
  let counts: Record<ScanSeverity, number> | null = null;
  if (bySeverity !== null) {
    counts = { Critical: 0, High: 0, Medium: 0, Low: 0, Unknown: 0 };
    for (const sev of scanSeverities) counts[sev] = num(bySeverity[sev]) ?? 0;
  }
  const sc = r['scanner'];
  const scanner = isRecord(sc) && str(sc['name']) !== null ? [str(sc['name']), str(sc['version'])].filter((x) => x !== null).join(' ') : null;
  return {
    scanType: event.scanType,
    status: str(r['scan_status']) ?? statusOfType[event.type],
    severity: str(r['severity']),
    counts,
    total: isRecord(outer) ? num(outer['total']) : null,
    fixable: isRecord(outer) ? num(outer['fixable']) : null,
    scanner,
    sbomDigest: event.scanType === 'sbom' ? str(r['sbom_digest']) : null,
    error: str(event.error),
    platform: str(event.platform),
    parentDigest: str(event.parentDigest),
  };
}

/**
 * One line about a scan's results: the counts per severity (`Critical 1 · High 0 · …`), the
 * SBOM's digest, or the failure and its reason.
 */
export function scanDetail(f: ScanFacts): string {
  const what = f.scanType === 'sbom' ? 'SBOM generation' : 'Vulnerability scan';
  if (f.status !== 'Success') {
    const verb = f.status === 'Stopped' ? 'stopped' : f.status === 'Error' ? 'failed' : `ended with status ${f.status}`;
    return `${what} ${verb}${f.error !== null ? `: ${f.error}` : ''}`;
  }
  if (f.scanType === 'sbom') return f.sbomDigest !== null ? `SBOM generated: ${f.sbomDigest}` : 'SBOM generated';
  if (f.counts === null) return f.severity !== null ? `Vulnerability scan completed (severity ${f.severity})` : 'Vulnerability scan completed';
  const counts = f.counts;
  const line = scanSeverities.map((sev) => `${sev} ${counts[sev]}`).join(' · ');
  const totals = f.total !== null ? ` (${f.total} total${f.fixable !== null ? `, ${f.fixable} fixable` : ''})` : '';
  return `${line}${totals}`;
}

/** How chat messages name a relay's source. */
const relaySourceLabels: Readonly<Record<RelaySource, string>> = {
  harbor: 'Harbor',
  'harbor-cloudevents': 'Harbor (CloudEvents)',
  distribution: 'CNCF registry',
  dockerhub: 'Docker Hub',
};

/**
 * The facts of an event that chat formats show, whatever its type. A relayed event's artifact is
 * in the source registry: its image names that registry, it has no page in Wharf's console, and
 * the detail line says where it came from.
 */
export function summarize(event: WharfEvent, externalUrl: string): EventSummary {
  const s = summarizeEvent(event, externalUrl);
  const relay = event.relay;
  if (!relay) return s;
  const host = externalHost(externalUrl);
  const sourceHost = relay.registryUrl === '' ? '' : externalHost(relay.registryUrl.includes('://') ? relay.registryUrl : `https://${relay.registryUrl}`);
  const image = s.image !== null && sourceHost !== '' && s.image.startsWith(`${host}/`) ? `${sourceHost}${s.image.slice(host.length)}` : null;
  const from = `relayed from ${relaySourceLabels[relay.source]}${sourceHost !== '' ? ` ${sourceHost}` : ''} by relay ${relay.name}`;
  return { ...s, image, link: null, detail: s.detail !== null ? `${s.detail} (${from})` : from.charAt(0).toUpperCase() + from.slice(1) };
}

function summarizeEvent(event: WharfEvent, externalUrl: string): EventSummary {
  const base = { label: eventLabels[event.type], tags: [] as string[], detail: null, scan: null };
  switch (event.type) {
    case 'PUSH_ARTIFACT':
    case 'PULL_ARTIFACT':
    case 'DELETE_ARTIFACT':
    case 'CREATE_TAG':
    case 'DELETE_TAG':
    case 'SCANNING_COMPLETED':
    case 'SCANNING_FAILED':
    case 'SCANNING_STOPPED': {
      const a = event.artifact;
      const tag = a.tag ?? (event.type === 'DELETE_ARTIFACT' ? (a.tags[0] ?? null) : null);
      const scan = event.type === 'SCANNING_COMPLETED' || event.type === 'SCANNING_FAILED' || event.type === 'SCANNING_STOPPED' ? scanFacts(event) : null;
      return {
        ...base,
        detail: scan !== null ? scanDetail(scan) : null,
        scan,
        project: event.project.name,
        repository: event.repository.name,
        tag,
        tags: a.tags,
        digest: a.digest,
        image: imageReference(externalUrl, event.repository.name, tag ?? a.digest),
        link: event.type === 'DELETE_ARTIFACT' ? null : artifactWebUrl(externalUrl, event.project.id, event.repository.name, a.digest),
      };
    }
    case 'QUOTA_EXCEED':
    case 'QUOTA_WARNING':
      return {
        ...base,
        project: event.project.name,
        repository: event.repository?.name ?? null,
        tag: event.artifact?.tag ?? null,
        tags: event.artifact?.tags ?? [],
        digest: event.artifact?.digest ?? null,
        image: null,
        link: projectWebUrl(externalUrl, event.project.id),
        detail: event.details,
      };
    case 'ARTIFACT_LABELED': {
      const a = event.artifact;
      return {
        ...base,
        detail: `label ${event.label.name}`,
        project: event.project.name,
        repository: event.repository.name,
        tag: a.tag,
        tags: a.tags,
        digest: a.digest,
        image: imageReference(externalUrl, event.repository.name, a.tag ?? a.digest),
        link: artifactWebUrl(externalUrl, event.project.id, event.repository.name, a.digest),
      };
    }
    case 'CREATE_REPOSITORY':
    case 'DELETE_REPOSITORY':
      return { ...base, project: event.project.name, repository: event.repository.name, tag: null, digest: null, image: null, link: null };
    case 'CREATE_PROJECT':
    case 'DELETE_PROJECT':
      return {
        ...base,
        project: event.project.name,
        repository: null,
        tag: null,
        digest: null,
        image: null,
        link: event.type === 'CREATE_PROJECT' ? projectWebUrl(externalUrl, event.project.id) : null,
      };
    case 'REPLICATION': {
      const status = event.replication['job_status'];
      return {
        ...base,
        project: event.project.name,
        repository: null,
        tag: null,
        digest: null,
        image: null,
        link: null,
        detail: typeof status === 'string' ? `status ${status}` : null,
      };
    }
    case 'TAG_RETENTION': {
      const total = event.retention['total'];
      const retained = event.retention['retained'];
      return {
        ...base,
        project: event.project.name,
        repository: null,
        tag: null,
        digest: null,
        image: null,
        link: null,
        detail: typeof total === 'number' && typeof retained === 'number' ? `${retained} of ${total} retained` : null,
      };
    }
    case 'WEBHOOK_TARGET_DISABLED':
      return {
        ...base,
        project: event.project?.name ?? null,
        repository: null,
        tag: null,
        digest: null,
        image: null,
        link: null,
        detail: `policy ${event.policyId}, target ${event.targetId} (${urlOrigin(event.address)}): ${event.reason}`,
      };
    default:
      return assertNeverEvent(event);
  }
}

/** Exhaustiveness guard for switches over the event union. */
export function assertNeverEvent(x: never): never {
  throw new Error(`unexpected event: ${JSON.stringify(x)}`);
}

/**
 * Cuts `s` to at most `max` UTF-16 code units, ending with `…` when cut. It never splits a
 * surrogate pair, so the result is always valid text. (Slack and Discord count characters; a
 * code-unit count is never smaller, so staying under it stays under theirs.)
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max <= 0) return '';
  let end = max - 1;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${s.slice(0, Math.max(0, end))}…`;
}
