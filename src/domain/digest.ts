import { fail } from './errors.ts';

/** A validated content digest such as `sha256:<64 hex>`. Only {@link parseDigest} makes one. */
export type Digest = string & { readonly __brand: 'Digest' };

/** Algorithms Wharf verifies content against, with the length of their hex encoding. */
export const digestAlgorithms = { sha256: 64, sha512: 128 } as const;
/** A supported digest algorithm. */
export type DigestAlgorithm = keyof typeof digestAlgorithms;

const grammar = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** Parses and validates a digest; throws DIGEST_INVALID for bad syntax or an unsupported algorithm. */
export function parseDigest(s: string): Digest {
  const m = grammar.exec(s);
  if (!m) throw fail('DIGEST_INVALID', 'provided digest did not match uploaded content', { digest: s, reason: 'invalid digest syntax' });
  const alg = m[1] as string;
  const hex = m[2] as string;
  const len = (digestAlgorithms as Record<string, number>)[alg];
  if (len === undefined) throw fail('UNSUPPORTED', `digest algorithm ${alg} is not supported`, { digest: s });
  if (hex.length !== len || !/^[a-f0-9]+$/.test(hex)) {
    throw fail('DIGEST_INVALID', 'provided digest did not match uploaded content', { digest: s, reason: `invalid ${alg} encoding` });
  }
  return s as Digest;
}

/** True when `s` is a syntactically valid, supported digest. */
export function isDigest(s: string): boolean {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** The algorithm part of a digest. */
export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(':')) as DigestAlgorithm;
}

/** The hex part of a digest. */
export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** Builds a digest from an algorithm and the hex of a hash computed by Wharf itself. */
export function makeDigest(alg: DigestAlgorithm, hex: string): Digest {
  return `${alg}:${hex}` as Digest;
}
