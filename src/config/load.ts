import { readFileSync, existsSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config } from './schema.ts';

/** Thrown when the configuration is invalid; `problems` lists every error at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Maps WHARF_* variables onto config keys: the part after `WHARF_` in lower case, with `__`
 * separating nesting levels (WHARF_DATA_DIR -> data_dir, WHARF_WEBHOOKS__TIMEOUT_MS -> webhooks.timeout_ms).
 * WHARF_CONFIG names the YAML file and is not itself a key.
 */
export function envToObject(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('WHARF_') || name === 'WHARF_CONFIG' || value === undefined) continue;
    if (name.startsWith('WHARF_TEST_') || name === 'WHARF_REQUIRE_E2E') continue;
    const path = name.slice('WHARF_'.length).toLowerCase().split('__');
    let node = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node = (typeof next === 'object' && next !== null ? next : (node[key] = {})) as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = value;
  }
  return out;
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof prev === 'object' && prev !== null && !Array.isArray(prev)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** Options for {@link loadConfig}: where to look, and overrides that win over everything (tests). */
export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** YAML file to read; null reads none. Default: WHARF_CONFIG or ./wharf.yaml when present. */
  file?: string | null;
  overrides?: Record<string, unknown>;
}

/** Reads wharf.yaml (if present) and WHARF_* variables, validates them and fills derived defaults. */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const file = opts.file === null ? null : (opts.file ?? env.WHARF_CONFIG ?? 'wharf.yaml');
  let fromFile: Record<string, unknown> = {};
  if (file === null) {
    // no file
  } else if (existsSync(file)) {
    try {
      const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== 'object' || Array.isArray(parsed)) problems.push(`${file}: expected a mapping at the top level`);
        else fromFile = parsed as Record<string, unknown>;
      }
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
    }
  } else if (opts.file ?? env.WHARF_CONFIG) {
    problems.push(`${file}: no such file`);
  }
  const raw = merge(merge(fromFile, envToObject(env)), opts.overrides ?? {});
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.join('.');
      const envName = issue.path.length ? `WHARF_${issue.path.map(String).join('__').toUpperCase()}` : '';
      problems.push(key ? `${key} (${envName}): ${issue.message}` : issue.message);
    }
  }
  if (problems.length || !result.success) throw new ConfigError(problems);
  const c = result.data;
  const dataDir = resolve(c.data_dir);
  return {
    ...c,
    data_dir: dataDir,
    external_url: (c.external_url ?? `${c.tls.auto || c.tls.cert_file !== undefined ? 'https' : 'http'}://localhost:${c.port}`).replace(/\/+$/, ''),
    database: { ...c.database, path: resolve(c.database.path ?? join(dataDir, 'wharf.db')) },
    storage: { ...c.storage, root: resolve(c.storage.root ?? join(dataDir, 'storage')) },
    // The package's own build (src/config or dist/config, two levels below the package root).
    console: { ...c.console, dir: resolve(c.console.dir ?? join(import.meta.dirname, '../../dist/console')) },
  };
}
