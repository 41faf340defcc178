/**
 * The SSRF policy of outgoing webhook requests, applied to every address a target host resolves
 * to (and to IP literals) at connect time, so what is checked is what is connected to.
 *
 * - Always refused, whatever the configuration: link-local (169.254.0.0/16, fe80::/10) which holds
 *   the cloud metadata services, the other known metadata addresses (fd00:ec2::254 on AWS IPv6,
 *   100.100.100.200 on Alibaba Cloud), multicast, broadcast and the reserved 240/4 range.
 *   IPv6 forms that embed an IPv4 address (::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16)
 *   are judged by the IPv4 address they carry.
 * - Private addresses: every non-global range (10/8, 172.16/12, 192.168/16, 127/8, 100.64/10,
 *   0/8, fc00::/7, ::1, documentation and benchmarking ranges...). Allowed by default
 *   (`webhooks.allow_private_targets: true`, a self-hosted registry usually notifies its
 *   neighbours); when refused, `webhooks.allow_list` names hosts or CIDR ranges still allowed.
 * - Public addresses are always allowed.
 */
import ipaddr from 'ipaddr.js';

/** Why an address was refused, or null when it is allowed. */
export type Refusal = { reason: 'link-local' | 'metadata' | 'reserved' | 'private' | 'invalid'; address: string };

/** The policy's configuration (`webhooks.allow_private_targets`, `webhooks.allow_list`). */
export interface AddressPolicyConfig {
  allowPrivate: boolean;
  /** Host names (exact, or `*.example.com`) and CIDR ranges or single addresses. */
  allowList: readonly string[];
}

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

const metadata = ['169.254.169.254', '100.100.100.200', 'fd00:ec2::254'].map((a) => ipaddr.parse(a).toNormalizedString());
const alwaysRefusedRanges = new Set(['linkLocal', 'multicast', 'broadcast', 'reserved']);

/** The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), or the address itself. */
function unwrap(addr: Addr): Addr {
  if (addr.kind() !== 'ipv6') return addr;
  const v6 = addr as ipaddr.IPv6; // kind() checked above
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const range = v6.range();
  const p = v6.parts;
  if (range === 'rfc6052') {
    // 64:ff9b::/96 — the IPv4 address is the last 32 bits.
    return new ipaddr.IPv4([(p[6] ?? 0) >> 8, (p[6] ?? 0) & 0xff, (p[7] ?? 0) >> 8, (p[7] ?? 0) & 0xff]);
  }
  if (range === '6to4') {
    // 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
    return new ipaddr.IPv4([(p[1] ?? 0) >> 8, (p[1] ?? 0) & 0xff, (p[2] ?? 0) >> 8, (p[2] ?? 0) & 0xff]);
  }
  return addr;
}

/** One parsed allow-list entry. */
type AllowEntry = { kind: 'cidr'; range: [Addr, number] } | { kind: 'host'; host: string } | { kind: 'suffix'; suffix: string };

function parseAllowEntry(entry: string): AllowEntry | null {
  const e = entry.trim().toLowerCase();
  if (e === '') return null;
  if (e.includes('/')) {
    try {
      return { kind: 'cidr', range: ipaddr.parseCIDR(e) };
    } catch {
      return null;
    }
  }
  const bare = e.startsWith('[') && e.endsWith(']') ? e.slice(1, -1) : e;
  if (ipaddr.isValid(bare)) {
    const a = ipaddr.parse(bare);
    return { kind: 'cidr', range: [a, a.kind() === 'ipv4' ? 32 : 128] };
  }
  if (e.startsWith('*.')) return { kind: 'suffix', suffix: e.slice(1) };
  return { kind: 'host', host: e };
}

/** Checks resolved addresses against the policy. */
export class AddressPolicy {
  private readonly allow: AllowEntry[];

  constructor(private readonly config: AddressPolicyConfig) {
    this.allow = config.allowList.map(parseAllowEntry).filter((e): e is AllowEntry => e !== null);
  }

  /** Allow-list entries that could not be parsed as a host or CIDR (for a startup warning). */
  static invalidEntries(allowList: readonly string[]): string[] {
    return allowList.filter((e) => e.trim() !== '' && parseAllowEntry(e) === null);
  }

  private hostAllowed(host: string): boolean {
    const h = host.toLowerCase().replace(/\.$/, '');
    return this.allow.some((e) => (e.kind === 'host' && e.host === h) || (e.kind === 'suffix' && h.endsWith(e.suffix)));
  }

  private addressAllowed(addr: Addr): boolean {
    return this.allow.some((e) => {
      if (e.kind !== 'cidr') return false;
      const [net] = e.range;
      if (net.kind() === addr.kind()) return addr.match(e.range);
      // An IPv4 range also covers the IPv4-mapped form and vice versa.
      const a = unwrap(addr);
      return a.kind() === net.kind() && a.match(e.range);
    });
  }

  /**
   * Judges one address `ip` that `host` (the URL's host name, or the IP literal itself) resolved to.
   * Returns null when the connection may proceed.
   */
  check(host: string, ip: string): Refusal | null {
    const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
    // Zone ids (fe80::1%eth0) are only valid on link-local addresses, which are refused anyway.
    const noZone = bare.replace(/%.*$/, '');
    if (!ipaddr.isValid(noZone)) return { reason: 'invalid', address: ip };
    const parsed = ipaddr.parse(noZone);
    const addr = unwrap(parsed);
    const norm = addr.toNormalizedString();
    if (metadata.includes(norm) || metadata.includes(parsed.toNormalizedString())) return { reason: 'metadata', address: ip };
    const range = addr.range();
    if (range === 'linkLocal') return { reason: 'link-local', address: ip };
    if (alwaysRefusedRanges.has(range)) return { reason: 'reserved', address: ip };
    if (range === 'unicast') return null;
    // Everything else is a non-global range: private, loopback, unique-local, CGNAT, unspecified...
    if (this.config.allowPrivate) return null;
    if (this.hostAllowed(host) || this.addressAllowed(parsed) || this.addressAllowed(addr)) return null;
    return { reason: 'private', address: ip };
  }
}

/** A human sentence for a refusal (the attempt's error text). */
export function describeRefusal(host: string, r: Refusal): string {
  const what: Record<Refusal['reason'], string> = {
    'link-local': 'a link-local address (never allowed)',
    metadata: 'a cloud metadata address (never allowed)',
    reserved: 'a multicast, broadcast or reserved address (never allowed)',
    private: 'a private or loopback address (webhooks.allow_private_targets is false and it is not in webhooks.allow_list)',
    invalid: 'an invalid address',
  };
  return `blocked by the SSRF policy: ${host} resolves to ${r.address}, ${what[r.reason]}`;
}
