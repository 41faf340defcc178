/**
 * Target addresses vetted when a policy is saved or a target tested (./address-policy.ts):
 * never-allowed addresses are a 400 for everyone; private and loopback ones are a 403 for anyone
 * but a system admin unless `webhooks.allow_private_targets` or `webhooks.allow_list` allows them.
 * A system admin's target whose address is not provably public is marked admin-trusted
 * (./target-row.ts); an unchanged address keeps that mark, a changed one is vetted again as its
 * editor. Host names are resolved (at most 3 s each), so this runs before any write transaction.
 */
import { isIP } from 'node:net';
import type { WebhookTargetRow } from '../db/index.ts';
import type { Actor } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import { fail } from '../domain/index.ts';
import { AddressPolicy, classifyAddress } from './address-policy.ts';
import { systemResolver, type Resolver } from './http-client.ts';
import { unchangedTarget, type TargetSpec } from './policy-spec.ts';

/** What vetting needs: the address settings and a resolver (tests; the system resolver otherwise). */
export interface VettingDeps {
  config: Config;
  resolver?: Resolver;
}

/**
 * Vets the addresses of targets being saved (or tested) by `actor`: returns, per address, whether
 * it gets the admin-trusted mark. Throws BAD_REQUEST for a never-allowed address and FORBIDDEN for
 * a private one the actor may not use (one message, whatever the port or the answer). An
 * unchanged address of a stored target is not vetted again for a non-admin (it keeps its mark;
 * delivery checks it anyway). With `forTest`, nothing throws: the test send reports the refusal.
 */
export async function vetAddresses(
  deps: VettingDeps,
  actor: Actor,
  targets: readonly TargetSpec[],
  stored: readonly WebhookTargetRow[],
  forTest = false,
): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  const cfg = deps.config.webhooks;
  const policy = new AddressPolicy({ allowPrivate: cfg.allow_private_targets, allowList: cfg.allow_list });
  for (const [index, t] of targets.entries()) {
    if (out.has(t.address)) continue;
    if (!actor.sysadmin && unchangedTarget(t, stored) !== undefined) continue;
    let host: string;
    try {
      host = new URL(t.address).hostname;
    } catch {
      continue; // parseEndpoint accepted it; the client reports what it makes of it
    }
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    const ips = isIP(bare) !== 0 ? [bare] : await resolveQuietly(deps.resolver ?? systemResolver, bare);
    let provablyPublic = ips.length > 0;
    for (const ip of ips) {
      const c = classifyAddress(ip);
      if (c === 'public') continue;
      provablyPublic = false;
      if (forTest) continue;
      if (c !== 'private') {
        throw fail('BAD_REQUEST', `targets[${index}].address: ${bare} is or resolves to a link-local, cloud metadata, multicast or reserved address, which is never allowed`);
      }
      if (!actor.sysadmin && policy.check(bare, ip) !== null) {
        throw fail(
          'FORBIDDEN',
          `targets[${index}].address: private and loopback addresses are allowed only for targets saved by a system admin, or in the networks an administrator allowed (webhooks.allow_list)`,
        );
      }
    }
    out.set(t.address, actor.sysadmin && !provablyPublic);
  }
  return out;
}

/** The addresses `host` resolves to; none when it does not resolve within 3 s. */
async function resolveQuietly(resolver: Resolver, host: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), 3000);
    });
    return (await Promise.race([resolver(host), timeout])).map((a) => a.address);
  } catch {
    return [];
  } finally {
    clearTimeout(timer);
  }
}
