/**
 * The one mapping from a webhook target as the policy API validates it (camelCase) to the columns
 * it is stored and attempted with (webhook_targets), shared by the policy service and test sends.
 */
import type { WebhookTargetRow } from '../db/index.ts';

/** A target as the policy API validates it (camelCase; ./policy-spec.ts `TargetSpec` extends it). */
export interface TargetSpecLike {
  type: string;
  address: string;
  payloadFormat: string;
  authHeader: string;
  skipCertVerify: boolean;
  secret: string;
  headers: Record<string, string>;
  timeoutMs: number | null;
  options: Record<string, unknown>;
}

/** The webhook_targets columns a target spec sets (everything but ids, position and health). */
export type TargetColumns = Pick<WebhookTargetRow, 'type' | 'address' | 'payload_format' | 'options' | 'auth_header' | 'skip_cert_verify' | 'secret' | 'headers' | 'timeout_ms'>;

/** The stored-row columns of a target spec (options and headers as JSON text, the flag as 0/1). */
export function targetColumns(t: TargetSpecLike): TargetColumns {
  return {
    type: t.type,
    address: t.address,
    payload_format: t.payloadFormat,
    options: JSON.stringify(t.options),
    auth_header: t.authHeader,
    skip_cert_verify: t.skipCertVerify ? 1 : 0,
    secret: t.secret,
    headers: JSON.stringify(t.headers),
    timeout_ms: t.timeoutMs,
  };
}

/**
 * The `options` key the policy service sets (never taken from a request) when a system admin
 * saved the target with an address that is not provably public. Such a target may reach private
 * and loopback addresses whatever `webhooks.allow_private_targets` says, its answers are recorded
 * in full, and non-admins reading its history see no response details. An update that changes
 * the address by someone else drops it.
 */
export const adminTrustedOption = 'admin_trusted';

/** True when the stored `options` JSON says a system admin vouched for the target's address. */
export function isAdminTrusted(optionsJson: string): boolean {
  try {
    const o: unknown = JSON.parse(optionsJson || '{}');
    return typeof o === 'object' && o !== null && !Array.isArray(o) && (o as Record<string, unknown>)[adminTrustedOption] === true; // a JSON object
  } catch {
    return false;
  }
}
