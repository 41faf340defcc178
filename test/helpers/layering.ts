/**
 * The module layering of src/ as a checkable rule (docs/architecture.md "Dependencies"), and a
 * checker over an import graph. test/integration/layering.test.ts runs it on the real tree and on
 * synthetic graphs.
 *
 * A module is a top-level folder of src/ (`auth`, `db`, ...) or a top-level file (`main.ts` is
 * `main`, `app.ts` is `app`). An import from one module into another is allowed when
 *   1. it names the other module's `index.ts` (a folder module is entered through its index), and
 *   2. the other module sits in a LOWER layer, or the edge is listed in {@link allowedEdges}, or
 *      the importing file is a composition root ({@link roots}).
 * Modules of the same layer do not import each other unless the edge is listed. A module that is
 * in no layer is a violation too: a new folder must be placed.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

/** The layers, lowest first. A module may import modules of lower layers (through their index). */
export const layers: readonly (readonly string[])[] = [
  // Pure code and Node runtime helpers; none imports another module of ours.
  ['domain', 'platform', 'config'],
  // Persistence: Kysely schema, migrations, one store per table group; the blob store drivers.
  ['db', 'storage'],
  // Metrics, the logger and the disk's health: it wraps the blob store (DiskMonitor), so above storage.
  ['observability'],
  // The event catalog, the outbox writer, the consumer runner.
  ['events'],
  // The job framework: executions, tasks, leases, schedules.
  ['jobs'],
  // Services: each owns its tables and the ports it calls; they meet only through allowedEdges or ports.
  ['auth', 'audit', 'registry', 'projects', 'webhooks', 'scanning', 'lifecycle', 'replication', 'settings', 'preheat'],
  // HTTP adapters over the services, and the AppDeps contract they share.
  ['api'],
  // buildApp(): one plugin per surface.
  ['app'],
  // The composition root.
  ['main'],
];

/** An allowed import between modules of the same layer, with the reason it is not a port. */
export interface AllowedEdge {
  from: string;
  to: string;
  reason: string;
}

const authReason = 'the one authorizer: every service checks permissions with auth’s Authorizer, Actor and CallContext';

/** Service-to-service imports that are allowed. Keep this short: a new need is a port the caller owns. */
export const allowedEdges: readonly AllowedEdge[] = [
  { from: 'audit', to: 'auth', reason: authReason },
  { from: 'registry', to: 'auth', reason: authReason },
  { from: 'projects', to: 'auth', reason: authReason },
  { from: 'webhooks', to: 'auth', reason: authReason },
  { from: 'scanning', to: 'auth', reason: authReason },
  { from: 'lifecycle', to: 'auth', reason: authReason },
  { from: 'replication', to: 'auth', reason: authReason },
  { from: 'settings', to: 'auth', reason: authReason },
  { from: 'preheat', to: 'auth', reason: authReason },
  {
    from: 'preheat',
    to: 'replication',
    reason: 'preheat calls admin-saved provider endpoints by replication’s rules for admin-saved endpoints: its URL normalization and its limits on remote calls',
  },
  {
    from: 'scanning',
    to: 'registry',
    reason: 'scanning implements the registry’s PullGate port (prevent_vul) and pushes SBOM accessories through `Registry`, so that the registry records their events and quota',
  },
  {
    from: 'scanning',
    to: 'projects',
    reason: 'scanning implements the projects’ ScanReads port (scan_overview, sbom_overview, the vulnerabilities addition)',
  },
  {
    from: 'lifecycle',
    to: 'registry',
    reason: 'lifecycle implements the registry’s ImmutabilityGuard port (tag immutability rules the registry enforces on pushes and deletes)',
  },
  {
    from: 'replication',
    to: 'registry',
    reason: 'replication reads and writes local artifacts through `Registry` (its local side, so that the registry records events, quota and immutability), and its proxy cache decorates `Registry` for proxy-cache projects',
  },
  {
    from: 'projects',
    to: 'registry',
    reason: 'Harbor’s repository and artifact API is a view over the registry: deletes and tags go through `Registry` so that the registry writes their events; projects implements the registry’s QuotaGuard port',
  },
];

/**
 * Files that compose services like main.ts does and may import any module (still through its
 * index): each is the entry point of a thread that builds its own services.
 */
export const roots: ReadonlyMap<string, string> = new Map([
  ['webhooks/delivery-thread-worker.ts', 'the delivery thread’s entry: builds its own outbox consumers (webhook dispatcher, audit writer) and delivery worker'],
]);

/** One file of the graph: its path relative to src/ (posix separators) and the specifiers it imports. */
export interface SourceFile {
  path: string;
  imports: readonly string[];
}

/** A broken rule: the importing file, the imported path (relative to src/) and why it is refused. */
export interface Violation {
  file: string;
  imports: string;
  rule: string;
}

/** The module of a path relative to src/: its first segment, or the file's name without `.ts`. */
export function moduleOf(path: string): string {
  const first = path.split('/')[0] ?? path;
  return path.includes('/') ? first : first.replace(/\.ts$/, '');
}

function layerOf(module: string): number {
  return layers.findIndex((l) => l.includes(module));
}

/** The import specifiers of a TypeScript source: imports, re-exports, dynamic imports (comments ignored). */
export function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** Checks a graph; `allowed` and `rootFiles` default to the real ones. */
export function checkLayering(files: readonly SourceFile[], allowed: readonly AllowedEdge[] = allowedEdges, rootFiles: ReadonlyMap<string, string> = roots): Violation[] {
  const out: Violation[] = [];
  const seenModules = new Set<string>();
  for (const f of files) {
    const from = moduleOf(f.path);
    if (!seenModules.has(from) && layerOf(from) < 0) out.push({ file: f.path, imports: '', rule: `module "${from}" is in no layer: place it in test/helpers/layering.ts and docs/architecture.md` });
    seenModules.add(from);
    for (const spec of f.imports) {
      if (!spec.startsWith('./') && !spec.startsWith('../')) continue; // a package or node: builtin
      const target = posix.normalize(posix.join(posix.dirname(f.path), spec));
      if (target.startsWith('../')) continue; // outside src/ (package.json)
      const to = moduleOf(target);
      if (to === from) continue;
      const entry = target.includes('/') ? `${to}/index.ts` : target;
      if (target !== entry) out.push({ file: f.path, imports: target, rule: `enter module "${to}" through ${entry}` });
      if (rootFiles.has(f.path)) continue;
      const lf = layerOf(from);
      const lt = layerOf(to);
      if (lf < 0 || lt < 0) {
        if (lt < 0) out.push({ file: f.path, imports: target, rule: `module "${to}" is in no layer` });
        continue;
      }
      if (lt < lf) continue;
      if (allowed.some((e) => e.from === from && e.to === to)) continue;
      out.push({ file: f.path, imports: target, rule: lt === lf ? `"${from}" and "${to}" are in the same layer: the caller owns a port, main wires it` : `"${from}" may not import "${to}", a higher layer` });
    }
  }
  return out;
}

/** Every non-test .ts file under `srcDir` with its imports. */
export function readSourceTree(srcDir: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) {
        out.push({ path: relative(srcDir, p).split(sep).join('/'), imports: importsOf(readFileSync(p, 'utf8')) });
      }
    }
  };
  walk(srcDir);
  return out;
}

/** src/ of this repository. */
export const srcDir = join(dirname(new URL(import.meta.url).pathname), '..', '..', 'src');
