/**
 * The port through which scanner registrations read an adapter's metadata
 * (`GET {url}/api/v1/metadata`). main.ts wires the adapter client (./adapter/client.ts), which
 * satisfies it; the registration service owns this narrow view so that it depends on one call.
 */
import type { AdapterEndpoint, ScannerAdapterMetadata } from './adapter/index.ts';

/** Fetches an adapter's metadata; throws an Error whose message says what went wrong (no credential in it). */
export interface MetadataSource {
  metadata(endpoint: AdapterEndpoint): Promise<ScannerAdapterMetadata>;
}
