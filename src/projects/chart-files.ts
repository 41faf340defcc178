/**
 * What Harbor's chart additions show of a Helm chart archive (the chart's `.tgz` layer): its
 * `values.yaml`, its `README.md` (names matched in any case, as Harbor's) and its dependencies
 * (Chart.yaml's `dependencies` for apiVersion v2, requirements.yaml's for v1). Only the chart's own
 * top-level files are read; subcharts under `charts/` are skipped.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { parse as parseYaml } from 'yaml';

/** The files of a chart that Harbor's additions show. */
export interface ChartFiles {
  values: string;
  readme: string;
  dependencies: unknown[];
}

/** A file larger than this is not read (values and readmes are small; Helm itself caps files). */
const fileLimit = 5 * 1024 * 1024;

const wanted = new Set(['VALUES.YAML', 'README.MD', 'CHART.YAML', 'REQUIREMENTS.YAML']);

function record(v: unknown): Record<string, unknown> | null {
  // A parsed YAML mapping: its keys are strings, its values still unknown.
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function yamlMapping(text: string | undefined): Record<string, unknown> | null {
  if (text === undefined) return null;
  try {
    return record(parseYaml(text));
  } catch {
    return null;
  }
}

/** Reads a gzipped chart archive; throws when it is not one. */
export async function readChartFiles(archive: Readable): Promise<ChartFiles> {
  const extract = tar.extract();
  const files = new Map<string, string>();
  const reading = (async () => {
    for await (const entry of extract) {
      const parts = entry.header.name.split('/').filter((p) => p !== '' && p !== '.');
      const base = (parts[1] ?? '').toUpperCase();
      if (entry.header.type !== 'file' || parts.length !== 2 || !wanted.has(base) || (entry.header.size ?? 0) > fileLimit || files.has(base)) {
        entry.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
      files.set(base, Buffer.concat(chunks).toString('utf8'));
    }
  })();
  await Promise.all([pipeline(archive, createGunzip(), extract), reading]);
  const chart = yamlMapping(files.get('CHART.YAML'));
  let dependencies: unknown = [];
  if (chart?.apiVersion === 'v2') dependencies = chart.dependencies;
  else if (chart?.apiVersion === 'v1') dependencies = yamlMapping(files.get('REQUIREMENTS.YAML'))?.dependencies;
  return { values: files.get('VALUES.YAML') ?? '', readme: files.get('README.MD') ?? '', dependencies: Array.isArray(dependencies) ? dependencies : [] };
}
