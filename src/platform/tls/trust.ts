/**
 * The CA certificates Wharf's outgoing HTTPS clients trust besides Node's built-in roots
 * (`tls.trusted_ca_files`, and Wharf's own CA so that the built-in scanner can pull from a Wharf
 * serving TLS). One list per process (each thread sets its own): the composition root fills it
 * before any client connects; webhook delivery, replication and the scanner adapters read it when
 * they build their connection pools.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

let extra: readonly string[] = [];

/** Adds CA certificates (PEM text, one or several per entry) to this process's trusted roots. */
export function trustCertificates(pems: readonly string[]): void {
  const add = pems.map((p) => p.trim()).filter((p) => p !== '' && !extra.includes(p));
  if (add.length > 0) extra = [...extra, ...add];
}

/** Reads CA files (PEM) and trusts them; a missing or unreadable file throws, naming it. */
export function trustCertificateFiles(paths: readonly string[]): void {
  trustCertificates(
    paths.map((p) => {
      const text = readFileSync(p, 'utf8');
      if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`tls.trusted_ca_files: ${p} holds no PEM certificate`);
      return text;
    }),
  );
}

/**
 * The `ca` option for a TLS connection: Node's roots plus the added ones, or undefined (Node's
 * roots alone) when none were added. `also` adds one more for this connection (a registry
 * endpoint's own CA).
 */
export function trustedCa(also?: string | null): string[] | undefined {
  const more = also !== undefined && also !== null && also !== '' ? [also] : [];
  if (extra.length === 0 && more.length === 0) return undefined;
  return [...rootCertificates, ...extra, ...more];
}
