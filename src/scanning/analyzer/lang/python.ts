/**
 * Python packages: the core-metadata headers of installed distributions, `*.dist-info/METADATA`
 * and `*.egg-info/PKG-INFO` (or `*.egg-info` as a file). Only the header block is read.
 */
import type { Readable } from 'node:stream';
import { PackageURL } from 'packageurl-js';
import type { FileAnalyzer, FileEntry, InstalledPackage } from '../types.ts';
import { readHeaderBlock } from './read-stream.ts';

/** The header block is read up to this size; a file whose headers run longer is skipped. */
export const PYTHON_METADATA_CAP = 1024 * 1024;

/** What the Python analyzer keeps of one metadata file. */
export interface PythonResult {
  name: string;
  version: string;
  licenses: string[];
}

/** True for `x.dist-info/METADATA`, `x.egg-info/PKG-INFO` and a file named `x.egg-info`. */
export function isPythonMetadata(path: string): boolean {
  if (!path.endsWith('METADATA') && !path.endsWith('PKG-INFO') && !path.endsWith('.egg-info')) return false;
  const parts = path.split('/');
  const base = parts[parts.length - 1] ?? '';
  const parent = parts[parts.length - 2] ?? '';
  if (base === 'METADATA') return parent.endsWith('.dist-info');
  if (base === 'PKG-INFO') return parent.endsWith('.egg-info');
  return base.endsWith('.egg-info');
}

/** RFC 822-style headers: `Key: value` lines, continuation lines starting with white space. */
export function parseHeaders(text: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let last: string[] | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== null) {
      const i = last.length - 1;
      last[i] = `${last[i] ?? ''}\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const values = headers.get(key) ?? [];
    values.push(value);
    headers.set(key, values);
    last = values;
  }
  return headers;
}

/**
 * The declared licenses: `License-Expression` (an SPDX expression), else `License` unless it
 * is empty or UNKNOWN (its first line: some projects paste the whole text), else the
 * `License :: … :: Name` classifiers' last part.
 */
export function pythonLicenses(headers: Map<string, string[]>): string[] {
  const expression = headers.get('license-expression')?.[0]?.trim();
  if (expression) return [expression];
  const license = headers.get('license')?.[0]?.split('\n')[0]?.trim();
  if (license && license.toUpperCase() !== 'UNKNOWN') return [license];
  const out: string[] = [];
  for (const c of headers.get('classifier') ?? []) {
    const parts = c.split('::').map((s) => s.trim());
    const name = parts[parts.length - 1];
    if (parts[0] === 'License' && parts.length > 1 && name && name !== 'OSI Approved') out.push(name);
  }
  return out;
}

/** The distribution a metadata header block describes, or null without a name and version. */
export function parsePythonMetadata(text: string): PythonResult | null {
  const headers = parseHeaders(text);
  const name = headers.get('name')?.[0];
  const version = headers.get('version')?.[0];
  if (!name || !version) return null;
  return { name, version, licenses: pythonLicenses(headers) };
}

/** PEP 503: lower case, runs of `-`, `_` and `.` become one `-`. */
export function pep503(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** `pkg:pypi/<pep503 name>@<version>` */
export function pypiPurl(name: string, version: string): string {
  return new PackageURL('pypi', undefined, pep503(name), version, undefined, undefined).toString();
}

/** The Python analyzer. */
export function pythonAnalyzer(): FileAnalyzer<PythonResult> {
  return {
    name: 'python',
    wants(entry: FileEntry): boolean {
      return isPythonMetadata(entry.path);
    },
    async read(_entry: FileEntry, body: Readable): Promise<PythonResult | null> {
      const text = await readHeaderBlock(body, PYTHON_METADATA_CAP);
      return text === null ? null : parsePythonMetadata(text);
    },
    collect(results: Map<string, PythonResult>): InstalledPackage[] {
      return [...results].map(([path, r]) => ({
        type: 'pypi',
        name: r.name,
        version: r.version,
        licenses: r.licenses,
        path,
        purl: pypiPurl(r.name, r.version),
      }));
    },
  };
}
