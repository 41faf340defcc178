/**
 * The registry's PullGate (src/registry/pull-gate.ts), implemented for `prevent_vul`: gathers what
 * {@link decideGate} needs — the project's threshold, whether the caller is the scanner (its pull
 * credential carries `scanner-pull` for the repository) or a signer, whether the artifact is a
 * signature, scannable or an index, the report to judge by (the last successful one while a rescan
 * runs), and the effective CVE allowlist — and throws POLICY_VIOLATION with Harbor's message.
 */
import type { GatedPull, PullGate } from '../registry/index.ts';
import { isScannerPull } from '../auth/index.ts';
import { accessoryType, artifactKind, fail, isIndexMediaType } from '../domain/index.ts';

import { decideGate } from './gate.ts';

/** Where the gate's facts come from (wired in main.ts). */
export interface VulnerabilityGateDeps {
  /** The report of a digest to judge by: the last successful one, else the current one; null when never scanned. */
  gateReport(digest: string): Promise<{ status: string; items: ReadonlyArray<{ id: string; severity: string }> } | null>;
  /** The CVE ids exempted in a project now (system or project list per `reuse_sys_cve_allowlist`; empty once expired). */
  effectiveAllowlist(projectId: number, nowMs: number): Promise<ReadonlySet<string>>;
  /** Manifest media types the project's scanner consumes (Harbor: the scanner's `consumes_mime_types`). */
  consumes(projectId: number): Promise<ReadonlySet<string>>;
  now?: () => number;
}

const signers = /cosign|notation/i;

/** The prevent_vul gate. */
export class VulnerabilityGate implements PullGate {
  constructor(private readonly deps: VulnerabilityGateDeps) {}

  async check(pull: GatedPull): Promise<void> {
    const a = pull.artifact;
    const signature = a.subject_digest !== null && accessoryType(a.config_media_type, a.artifact_type).startsWith('signature.');
    const ua = pull.ctx.request?.useragent ?? '';
    // Harbor lets a cosign or notation client that may push read what it signs.
    const signer = signers.test(ua.slice(0, 512)) && pull.ctx.actor.kind !== 'anonymous';
    if (signature || isScannerPull(pull.ctx.actor, pull.repository) || signer) return;
    const meta = parseMetadata(pull.project.metadata);
    const isIndex = isIndexMediaType(a.media_type);
    const consumes = isIndex ? new Set<string>() : await this.deps.consumes(pull.project.id);
    const scannable = artifactKind(a.media_type, a.config_media_type, a.artifact_type) === 'IMAGE' && consumes.has(a.media_type);
    const report = await this.deps.gateReport(a.digest);
    const now = (this.deps.now ?? Date.now)();
    const allowlist = report && report.items.length > 0 ? await this.deps.effectiveAllowlist(pull.project.id, now) : new Set<string>();
    const d = decideGate({ threshold: meta.severity ?? '', bypass: false, scannable, isIndex, report, allowlist });
    if (!d.allow) throw fail('POLICY_VIOLATION', d.message, { digest: a.digest });
  }
}

function parseMetadata(text: string): Record<string, string> {
  try {
    const m: unknown = JSON.parse(text);
    if (typeof m !== 'object' || m === null) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) if (typeof v === 'string') out[k] = v;
    return out;
  } catch {
    return {};
  }
}
