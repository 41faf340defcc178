/**
 * The SSRF policy of outgoing webhook requests, applied to every address a target host resolves
 * to (and to IP literals) at connect time, so what is checked is what is connected to.
 *
 * - Always refused, whatever the configuration: link-local (169.254.0.0/16, fe80::/10) which holds
 *   the cloud metadata services, the other known metadata addresses (fd00:ec2::254 on AWS IPv6,
 *   100.100.100.200 on Alibaba Cloud), multicast, broadcast and ipaddr.js's reserved ranges
 *   (240/4, documentation and benchmarking ranges, 2001:db8::/32...).
 * - Private addresses: every other non-global range (10/8, 172.16/12, 192.168/16, 127/8,
 *   100.64/10, 0/8, fc00::/7, ::1, ::...). Refused by default
 *   (`webhooks.allow_private_targets: false`) unless `webhooks.allow_list` names the host or a
 *   range holding the address, or the request is trusted (a system admin saved the target; the
 *   caller builds a policy with `allowPrivate` for those).
 * - Public addresses are always allowed.
 *
 * IPv6 addresses that carry an IPv4 address are judged by it (see {@link embeddedIPv4}):
 * IPv4-compatible ::a.b.c.d, IPv4-mapped ::ffff:a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d,
 * NAT64 64:ff9b::/96 and the local-use 64:ff9b:1::/48 (every RFC 6052 layout), 6to4 2002::/16
 * and Teredo 2001::/32 (the client address, the bitwise NOT of the last 32 bits). When a form
 * can be read in several ways, the strictest reading wins.
 */
import ipaddr from 'ipaddr.js';

/** Why an address was refused, or null when it is allowed. */
export type Refusal = { reason: 'link-local' | 'metadata' | 'reserved' | 'private' | 'invalid'; address: string };

/** The class of one address: never allowed, private (allowed by configuration or trust), or public. */
export type AddressClass = 'public' | 'private' | Exclude<Refusal['reason'], 'private'>;

/** The policy's configuration (`webhooks.allow_private_targets`, `webhooks.allow_list`). */
export interface AddressPolicyConfig {
  allowPrivate: boolean;
  /** Host names (exact, or `*.example.com`) and CIDR ranges or single addresses. */
  allowList: readonly string[];
}

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

const metadata = ['169.254.169.254', '100.100.100.200', 'fd00:ec2::254'].map((a) => ipaddr.parse(a).toNormalizedString());
const alwaysRefusedRanges = new Set(['linkLocal', 'multicast', 'broadcast', 'reserved']);

function v4(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([(hi >> 8) & 0xff, hi & 0xff, (lo >> 8) & 0xff, lo & 0xff]);
}

/**
 * The IPv4 addresses an IPv6 address may carry, in every form Wharf knows; empty for a plain
 * IPv6 address. Several entries when the form has several readings (64:ff9b:1::/48).
 */
export function embeddedIPv4(addr: ipaddr.IPv6): ipaddr.IPv4[] {
  const p = addr.parts.map((x) => x ?? 0);
  const [p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0] = p;
  // ::ffff:a.b.c.d (mapped)
  if (p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0xffff) return [v4(p6, p7)];
  // ::ffff:0:a.b.c.d (IPv4-translated, RFC 2765)
  if (p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0 && p4 === 0xffff && p5 === 0) return [v4(p6, p7)];
  // ::a.b.c.d (IPv4-compatible, deprecated but still routed by some stacks); :: and ::1 are themselves.
  if (p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0 && (p6 !== 0 || p7 > 1)) return [v4(p6, p7)];
  // 64:ff9b::/96 (NAT64 well-known prefix): the last 32 bits.
  if (p0 === 0x64 && p1 === 0xff9b && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0) return [v4(p6, p7)];
  // 64:ff9b:1::/48 (local-use NAT64, RFC 8215) with any RFC 6052 prefix length from /48 to /96;
  // bits 64-71 are the reserved "u" octet.
  if (p0 === 0x64 && p1 === 0xff9b && p2 === 1) {
    return [
      new ipaddr.IPv4([p3 >> 8, p3 & 0xff, p4 & 0xff, p5 >> 8]), // /48
      new ipaddr.IPv4([p3 & 0xff, p4 & 0xff, p5 >> 8, p5 & 0xff]), // /56
      new ipaddr.IPv4([p4 & 0xff, p5 >> 8, p5 & 0xff, p6 >> 8]), // /64
      v4(p6, p7), // /96
    ];
  }
  // 2002:AABB:CCDD::/48 (6to4) carries AA.BB.CC.DD.
  if (p0 === 0x2002) return [v4(p1, p2)];
  // 2001:0:SSSS:SSSS:flags:port:CCCC:CCCC (Teredo): the client is the bitwise NOT of the last 32 bits.
  if (p0 === 0x2001 && p1 === 0) return [v4(~p6 & 0xffff, ~p7 & 0xffff)];
  return [];
}

/** The class of one address on its own (no configuration involved). */
function classOf(addr: Addr): AddressClass {
  if (metadata.includes(addr.toNormalizedString())) return 'metadata';
  const range = addr.range();
  if (range === 'linkLocal') return 'link-local';
  if (alwaysRefusedRanges.has(range)) return 'reserved';
  if (range === 'unicast') return 'public';
  // Everything else is a non-global range: private, loopback, unique-local, CGNAT, unspecified...
  return 'private';
}

const severity: Record<AddressClass, number> = { public: 0, private: 1, reserved: 2, 'link-local': 3, metadata: 4, invalid: 5 };

/**
 * The class of an address (an IP literal, brackets and zone id allowed): the strictest of the
 * address itself and every IPv4 address it embeds. 6to4, Teredo and NAT64 addresses whose IPv4
 * part is public are public.
 */
export function classifyAddress(ip: string): AddressClass {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  // Zone ids (fe80::1%eth0) are only valid on link-local addresses, which are refused anyway.
  const noZone = bare.replace(/%.*$/, '');
  if (!ipaddr.isValid(noZone)) return 'invalid';
  const addr = ipaddr.parse(noZone);
  if (addr.kind() === 'ipv4') return classOf(addr);
  const v6 = addr as ipaddr.IPv6; // kind() checked above
  const inner = embeddedIPv4(v6);
  if (inner.length === 0) return classOf(v6);
  // An embedding form's own range (6to4, teredo, rfc6052, ipv4Mapped...) is not what is reached:
  // the embedded address is. Metadata on the IPv6 side itself still counts.
  let worst: AddressClass = metadata.includes(v6.toNormalizedString()) ? 'metadata' : 'public';
  for (const a of inner) {
    const c = classOf(a);
    if (severity[c] > severity[worst]) worst = c;
  }
  return worst;
}

/** The IPv4 address an IPv6 address carries when it has exactly one reading, or the address itself (allow-list matching). */
function unwrap(addr: Addr): Addr {
  if (addr.kind() !== 'ipv6') return addr;
  const inner = embeddedIPv4(addr as ipaddr.IPv6); // kind() checked above
  return inner.length === 1 && inner[0] ? inner[0] : addr;
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

  /** The same allow-list with private addresses allowed (for targets a system admin vouched for). */
  withPrivateAllowed(): AddressPolicy {
    return new AddressPolicy({ allowPrivate: true, allowList: this.config.allowList });
  }

  /** True when `host` (a name) or address `ip` is covered by the allow-list. */
  allowListed(host: string, ip: string): boolean {
    const bare = (ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip).replace(/%.*$/, '');
    if (this.hostAllowed(host)) return true;
    if (!ipaddr.isValid(bare)) return false;
    const parsed = ipaddr.parse(bare);
    return this.addressAllowed(parsed) || this.addressAllowed(unwrap(parsed));
  }

  /**
   * Judges one address `ip` that `host` (the URL's host name, or the IP literal itself) resolved to.
   * Returns null when the connection may proceed.
   */
  check(host: string, ip: string): Refusal | null {
    const c = classifyAddress(ip);
    if (c === 'public') return null;
    if (c !== 'private') return { reason: c, address: ip };
    if (this.config.allowPrivate || this.allowListed(host, ip)) return null;
    return { reason: 'private', address: ip };
  }
}

/** A human sentence for a refusal (the attempt's error text). */
export function describeRefusal(host: string, r: Refusal): string {
  const what: Record<Refusal['reason'], string> = {
    'link-local': 'a link-local address (never allowed)',
    metadata: 'a cloud metadata address (never allowed)',
    reserved: 'a multicast, broadcast or reserved address (never allowed)',
    private: 'a private or loopback address (allowed only for targets saved by a system admin, or in webhooks.allow_list)',
    invalid: 'an invalid address',
  };
  // A host name's private address is internal information: name the class, not the address.
  if (r.reason === 'private' && host !== r.address) return `blocked by the SSRF policy: ${host} resolves to ${what.private}`;
  return `blocked by the SSRF policy: ${host} resolves to ${r.address}, ${what[r.reason]}`;
}
