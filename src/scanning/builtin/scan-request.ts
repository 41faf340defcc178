/**
 * Reads a `POST /api/v1/scan` body for the built-in scanner, with the spec's statuses: 400 for
 * what is not JSON or has the wrong JSON types, 422 for a missing or invalid field, 501 for a
 * request the scanner has no capability for (an artifact type it does not consume, a capability
 * or report type or SBOM format it does not produce). Pure.
 */
import { isDigest, isJsonObject } from '../../domain/index.ts';
import {
  DOCKER_MANIFEST,
  OCI_MANIFEST,
  SBOM_MEDIA_TYPES,
  SBOM_REPORT_MIME,
  SPDX_JSON,
  VULN_REPORT_MIMES,
  sameMediaType,
} from '../adapter/index.ts';

/** A scan request as the built-in scanner runs it. */
export interface ParsedScanRequest {
  registry: { url: string; authorization: string; insecure: boolean };
  artifact: { repository: string; digest: string; tag: string; mime_type: string };
  /** Whether the vulnerability capability is enabled (also when the request enables none explicitly). */
  vulnerability: boolean;
  /** Whether the sbom capability is enabled. */
  sbom: boolean;
  /** The SBOM formats asked for (`parameters.sbom_media_types`), SPDX when none. */
  sbomMediaTypes: string[];
}

/** The outcome: the request, or the status and message to answer with. */
export type ScanRequestCheck = { ok: true; request: ParsedScanRequest } | { ok: false; status: 400 | 422 | 501; message: string };

/** The artifact media types the scanner consumes. */
export const CONSUMED_MIME_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];

/** OCI distribution's repository name grammar (components of lowercase letters and digits joined by `.`, `_`, `__` or dashes). */
const repoComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** True for a repository name a registry may hold (at most 255 characters). */
export function isRepositoryName(s: string): boolean {
  return s.length > 0 && s.length <= 255 && s.split('/').every((c) => repoComponent.test(c));
}

class Refusal {
  constructor(
    readonly status: 400 | 422 | 501,
    readonly message: string,
  ) {}
}

/** A string field: undefined/null when absent, a Refusal (400) when of another JSON type. */
function str(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Refusal(400, `${path} must be a string`);
  return v;
}

function strings(v: unknown, path: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Refusal(400, `${path} must be an array of strings`);
  return v.map(String);
}

function parse(doc: unknown): ParsedScanRequest {
  if (!isJsonObject(doc)) throw new Refusal(400, 'the scan request must be a JSON object');
  const registry = doc.registry;
  if (registry === undefined || registry === null) throw new Refusal(422, 'missing registry');
  if (!isJsonObject(registry)) throw new Refusal(400, 'registry must be an object');
  const url = str(registry, 'url', 'registry.url') ?? '';
  if (url === '') throw new Refusal(422, 'missing registry.url');
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new Refusal(422, 'invalid registry.url: not a URL');
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') throw new Refusal(422, 'invalid registry.url: the scheme must be http or https');
  if (parsedUrl.username !== '' || parsedUrl.password !== '') throw new Refusal(422, 'invalid registry.url: credentials go in registry.authorization');
  const authorization = (str(registry, 'authorization', 'registry.authorization') ?? '').trim();
  if (authorization !== '' && !/^(basic|bearer) \S/i.test(authorization)) throw new Refusal(422, 'invalid registry.authorization: a Basic or Bearer header value');
  if (/[\r\n\0]/.test(authorization)) throw new Refusal(422, 'invalid registry.authorization: it contains a line break or NUL');
  const insecure = registry.insecure;
  if (insecure !== undefined && insecure !== null && typeof insecure !== 'boolean') throw new Refusal(400, 'registry.insecure must be a boolean');

  const artifact = doc.artifact;
  if (artifact === undefined || artifact === null) throw new Refusal(422, 'missing artifact');
  if (!isJsonObject(artifact)) throw new Refusal(400, 'artifact must be an object');
  const repository = str(artifact, 'repository', 'artifact.repository') ?? '';
  if (repository === '') throw new Refusal(422, 'missing artifact.repository');
  if (!isRepositoryName(repository)) throw new Refusal(422, 'invalid artifact.repository');
  const digest = str(artifact, 'digest', 'artifact.digest') ?? '';
  if (digest === '') throw new Refusal(422, 'missing artifact.digest');
  if (!isDigest(digest)) throw new Refusal(422, 'invalid artifact.digest');
  const tag = str(artifact, 'tag', 'artifact.tag') ?? '';
  const mimeType = str(artifact, 'mime_type', 'artifact.mime_type') ?? '';
  if (mimeType === '') throw new Refusal(422, 'missing artifact.mime_type');
  if (!CONSUMED_MIME_TYPES.some((m) => sameMediaType(m, mimeType))) throw new Refusal(501, `unsupported artifact.mime_type ${JSON.stringify(mimeType.slice(0, 200))}`);
  if (artifact.size !== undefined && artifact.size !== null && typeof artifact.size !== 'number') throw new Refusal(400, 'artifact.size must be a number');

  let vulnerability = true;
  let sbom = true;
  let sbomMediaTypes = [SPDX_JSON];
  const caps = doc.enabled_capabilities;
  if (caps !== undefined && caps !== null) {
    if (!Array.isArray(caps)) throw new Refusal(400, 'enabled_capabilities must be an array');
    // An empty list is read like an absent one: every capability.
    if (caps.length > 0) {
      vulnerability = sbom = false;
      caps.forEach((c, i) => {
        const path = `enabled_capabilities[${i}]`;
        if (!isJsonObject(c)) throw new Refusal(400, `${path} must be an object`);
        const type = str(c, 'type', `${path}.type`);
        if (type === undefined || type === '') throw new Refusal(422, `missing ${path}.type`);
        const produces = strings(c.produces_mime_types, `${path}.produces_mime_types`);
        if (type === 'vulnerability') {
          if (produces && produces.length > 0 && !produces.some((p) => VULN_REPORT_MIMES.some((m) => sameMediaType(m, p)))) throw new Refusal(501, `the vulnerability capability does not produce ${produces.join(', ').slice(0, 300)}`);
          vulnerability = true;
        } else if (type === 'sbom') {
          if (produces && produces.length > 0 && !produces.some((p) => sameMediaType(p, SBOM_REPORT_MIME))) throw new Refusal(501, `the sbom capability does not produce ${produces.join(', ').slice(0, 300)}`);
          const params = c.parameters;
          if (params !== undefined && params !== null && !isJsonObject(params)) throw new Refusal(400, `${path}.parameters must be an object`);
          const formats = isJsonObject(params) ? strings(params.sbom_media_types, `${path}.parameters.sbom_media_types`) : undefined;
          if (formats && formats.length > 0) {
            const unknown = formats.find((f) => !SBOM_MEDIA_TYPES.includes(f));
            if (unknown !== undefined) throw new Refusal(501, `unsupported sbom_media_type ${JSON.stringify(unknown.slice(0, 200))}`);
            sbomMediaTypes = [...new Set(formats)];
          }
          sbom = true;
        } else {
          throw new Refusal(501, `unsupported capability type ${JSON.stringify(type.slice(0, 100))}`);
        }
      });
    }
  }
  return {
    registry: { url, authorization, insecure: insecure === true },
    artifact: { repository, digest, tag, mime_type: mimeType },
    vulnerability,
    sbom,
    sbomMediaTypes,
  };
}

/** Checks a parsed JSON scan request. */
export function checkScanRequest(doc: unknown): ScanRequestCheck {
  try {
    return { ok: true, request: parse(doc) };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, status: err.status, message: err.message };
    throw err;
  }
}
