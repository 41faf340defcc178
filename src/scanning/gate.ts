/**
 * The `prevent_vul` decision (Harbor's vulnerable-artifact middleware), as a pure function:
 * given the project's threshold, what is known about the artifact and its last report, and the
 * effective CVE allowlist, allow the pull or refuse it with Harbor's exact message. The pull gate
 * (./pull-gate.ts) gathers the inputs and throws POLICY_VIOLATION with the message.
 *
 * Order, as Harbor checks: a bypass (the scanner's own pull, a signer pushing signatures, a
 * signature artifact) allows; no report: an artifact nothing can scan is allowed, a scannable one
 * is refused (A); an image index is allowed (its children are gated when they are pulled); a
 * report whose status is not Success is refused (B); allowlisted CVEs are dropped, and when what
 * is left holds a finding whose severity reaches the threshold, the pull is refused (C).
 *
 * Thresholds compare by Harbor's codes (None/Unknown 0, Negligible 1, Low 2, Medium 3, High 4,
 * Critical 5): `none` (and an absent severity) has code 0, so any finding blocks, Unknown
 * included; `low` lets Negligible pass. An image with no findings passes at every threshold.
 */

/** Harbor's severity codes. */
export function severityCode(severity: string): number {
  switch (severity.toLowerCase()) {
    case 'none':
    case 'unknown':
    case '':
      return 0;
    case 'negligible':
      return 1;
    case 'low':
      return 2;
    case 'medium':
      return 3;
    case 'high':
      return 4;
    case 'critical':
      return 5;
    default:
      return 99;
  }
}

/** What the gate knows about one pull. */
export interface GateFacts {
  /** The project's `severity` metadata (`none`, `low`, ..., or '' when absent). */
  threshold: string;
  /** The scanner's own pull, a signer's push-side pull, or a signature artifact. */
  bypass: boolean;
  /** Whether the project's scanner can scan this artifact (an image it consumes). */
  scannable: boolean;
  /** An image index (its children are gated on their own pulls). */
  isIndex: boolean;
  /** The report to judge by: the last successful one, else the current one; null when never scanned. */
  report: { status: string; items: ReadonlyArray<{ id: string; severity: string }> } | null;
  /** CVE ids exempted for this project (already empty when the list has expired). */
  allowlist: ReadonlySet<string>;
}

/** The outcome: allowed, or refused with Harbor's message. */
export type GateDecision = { allow: true } | { allow: false; message: string };

function title(threshold: string): string {
  const t = threshold === '' ? 'none' : threshold.toLowerCase();
  return t.charAt(0).toUpperCase() + t.slice(1);
}

function policyText(threshold: string): string {
  return ` cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of "${title(threshold)}" or higher from running.'`;
}

const askAdmin = ' To continue with pull, please contact your project administrator for help.';
const askAllowlist = ' To continue with pull, please contact your project administrator to exempt matched vulnerabilities through configuring the CVE allowlist.';

/** Decides one pull. */
export function decideGate(f: GateFacts): GateDecision {
  if (f.bypass) return { allow: true };
  if (!f.report) {
    if (!f.scannable && !f.isIndex) return { allow: true };
    if (f.isIndex) return { allow: true };
    return { allow: false, message: `current image without vulnerability scanning${policyText(f.threshold)}${askAdmin}` };
  }
  if (f.isIndex) return { allow: true };
  if (f.report.status !== 'Success') {
    return { allow: false, message: `current image with "${f.report.status}" status of vulnerability scanning${policyText(f.threshold)}${askAdmin}` };
  }
  const left = f.report.items.filter((i) => !f.allowlist.has(i.id));
  if (left.length === 0) return { allow: true };
  const max = Math.max(...left.map((i) => severityCode(i.severity)));
  if (max < severityCode(f.threshold)) return { allow: true };
  const n = left.length;
  return { allow: false, message: `current image with ${n} ${n === 1 ? 'vulnerability' : 'vulnerabilities'}${policyText(f.threshold)}${askAllowlist}` };
}
