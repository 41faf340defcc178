/**
 * A real scanner adapter for tests: a node:http server speaking Harbor's Pluggable Scanner API v1.2
 * (metadata, POST /scan, GET /scan/{id}/report). On each scan it really pulls the manifest from
 * the registry the request names, with the credential it was handed, and records the answer, so
 * tests see whether Wharf's scanner credential works. `mode` decides how reports are answered:
 * `ready` (the fixed report below), `slow` (302 with Refresh-After a few times, then ready), `hang`
 * (302 forever), `fail` (500 with an error message).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

export const vuln11 = 'application/vnd.security.vulnerability.report; version=1.1';
export const sbomReportMime = 'application/vnd.security.sbom.report+json; version=1.0';

/** One scan request the adapter received, and what its pull of the manifest answered. */
export interface ReceivedScan {
  id: string;
  body: Record<string, unknown>;
  pullStatus: number;
}

/** The running adapter. */
export interface TestAdapter {
  url: string;
  mode: 'ready' | 'slow' | 'hang' | 'fail';
  /** `registry-authorization-type` advertised in the metadata (omitted when ''). */
  authType: '' | 'Bearer' | 'Basic';
  scans: ReceivedScan[];
  /** Report polls received (id and MIME type). */
  /** Each report poll; `prefer` is its Prefer header (Wharf asks for a held answer). */
  polls: Array<{ id: string; mime: string; sbomMediaType: string | null; prefer: string | undefined }>;
  close(): Promise<void>;
}

/** The vulnerabilities every `ready` report holds: one High (fixable, Negligible-free), one Negligible, one Medium without a fix. */
export const fixtureVulnerabilities = [
  {
    id: 'CVE-2024-0727',
    package: 'libcrypto3',
    version: '3.1.4-r2',
    fix_version: '3.1.4-r5',
    severity: 'High',
    description: 'PKCS12 NULL dereference',
    links: ['https://nvd.nist.gov/vuln/detail/CVE-2024-0727'],
    cwe_ids: ['CWE-476'],
    vendor_attributes: { CVSS: { nvd: { V3Score: 7.5, V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' } } },
  },
  { id: 'CVE-2023-0001', package: 'busybox', version: '1.36.1-r5', fix_version: '', severity: 'Negligible', description: 'minor', links: [], vendor_attributes: {} },
  { id: 'CVE-2023-0002', package: 'zlib', version: '1.3-r0', fix_version: '', severity: 'Medium', description: 'medium one', links: ['https://example.com/2'], preferred_cvss: { score_v3: 5.5 } },
];

export const fixtureSbom = { spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name: 'fixture', packages: [{ SPDXID: 'SPDXRef-Package-1', name: 'zlib', versionInfo: '1.3-r0' }] };

function json(res: import('node:http').ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));
}

/** Starts the adapter on a free loopback port. */
export async function startTestAdapter(name = 'TestScanner'): Promise<TestAdapter> {
  const a: TestAdapter = { url: '', mode: 'ready', authType: '', scans: [], polls: [], close: async () => undefined };
  const slowLeft = new Map<string, number>();
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (req.method === 'GET' && url.pathname === '/api/v1/metadata') {
          json(
            res,
            200,
            {
              scanner: { name, vendor: 'Wharf Tests', version: '1.2.3' },
              capabilities: [
                { type: 'vulnerability', consumes_mime_types: ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'], produces_mime_types: [vuln11] },
                {
                  type: 'sbom',
                  consumes_mime_types: ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'],
                  produces_mime_types: [sbomReportMime],
                  additional_attributes: { sbom_media_types: ['application/spdx+json'] },
                },
              ],
              properties: a.authType ? { 'harbor.scanner-adapter/registry-authorization-type': a.authType } : {},
            },
            'application/vnd.scanner.adapter.metadata+json; version=1.0',
          );
          return;
        }
        if (req.method === 'POST' && url.pathname === '/api/v1/scan') {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>; // the test server's own input
          const reg = body.registry as { url: string; authorization: string }; // the scan request's shape (spec)
          const art = body.artifact as { repository: string; digest: string }; // the scan request's shape (spec)
          const pull = await request(`${reg.url}/v2/${art.repository}/manifests/${art.digest}`, {
            headers: { authorization: reg.authorization, accept: 'application/vnd.oci.image.manifest.v1+json' },
          });
          await pull.body.text();
          const id = `scan-${++n}`;
          a.scans.push({ id, body, pullStatus: pull.statusCode });
          slowLeft.set(id, 2);
          json(res, 202, { id }, 'application/vnd.scanner.adapter.scan.response+json; version=1.0');
          return;
        }
        const m = /^\/api\/v1\/scan\/([^/]+)\/report$/.exec(url.pathname);
        if (req.method === 'GET' && m) {
          const id = decodeURIComponent(m[1] ?? '');
          const mime = String(req.headers.accept ?? '');
          a.polls.push({ id, mime, sbomMediaType: url.searchParams.get('sbom_media_type'), prefer: req.headers.prefer === undefined ? undefined : String(req.headers.prefer) });
          const scan = a.scans.find((s) => s.id === id);
          if (!scan) return json(res, 404, { error: { message: `unknown scan ${id}` } });
          if (a.mode === 'fail') return json(res, 500, { error: { message: 'the scanner database is corrupt' } });
          const left = slowLeft.get(id) ?? 0;
          if (a.mode === 'hang' || (a.mode === 'slow' && left > 0)) {
            slowLeft.set(id, left - 1);
            res.writeHead(302, { 'refresh-after': '1' }).end();
            return;
          }
          const art = scan.body.artifact;
          const scanner = { name, vendor: 'Wharf Tests', version: '1.2.3' };
          if (mime === sbomReportMime) {
            return json(res, 200, { generated_at: '2026-01-02T03:04:05Z', artifact: art, scanner, vendor_attributes: {}, media_type: 'application/spdx+json', sbom: { ...fixtureSbom, documentNamespace: `https://scanner.example/${id}` } }, mime);
          }
          return json(res, 200, { generated_at: '2026-01-02T03:04:05Z', artifact: art, scanner, severity: 'High', vulnerabilities: fixtureVulnerabilities }, mime);
        }
        json(res, 404, { error: { message: 'not found' } });
      })().catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  a.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`; // listen() on a TCP port: an AddressInfo
  a.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return a;
}
