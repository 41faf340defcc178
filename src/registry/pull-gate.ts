/**
 * The registry's pull-gate port: a check the registry runs before it serves a manifest (GET and
 * HEAD) from a project whose metadata turns a pull policy on (`prevent_vul`). The registry declares
 * it; scanning implements it (src/scanning/pull-gate.ts); main.ts wires them (RegistryDeps.pullGate).
 * Projects without the policy never reach it, so the hot path pays one string search.
 */
import type { CallContext } from '../auth/index.ts';
import type { ArtifactRow, ProjectRow } from '../db/index.ts';

/** What a gated pull is about. */
export interface GatedPull {
  ctx: CallContext;
  project: ProjectRow;
  /** Full repository name. */
  repository: string;
  artifact: ArtifactRow;
}

/** The check (RegistryDeps.pullGate); absent means no gate. */
export interface PullGate {
  /** Throws a DomainError `POLICY_VIOLATION` with Harbor's message when the pull is refused. */
  check(pull: GatedPull): Promise<void>;
}

/** True when a project's stored metadata (a JSON object of strings) turns the gate on. */
export function gateApplies(projectMetadata: string): boolean {
  if (!projectMetadata.includes('prevent_vul')) return false;
  try {
    const m: unknown = JSON.parse(projectMetadata);
    return typeof m === 'object' && m !== null && (m as Record<string, unknown>).prevent_vul === 'true'; // a JSON object, checked above
  } catch {
    return false;
  }
}
