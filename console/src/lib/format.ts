/** Formatting shared by the pages: sizes, times, digests, pull commands. Pure functions (unit-tested). */

/** Bytes as Harbor's UI shows them: `0 B`, `1.5 KiB`, `3.2 MiB`, `1.1 GiB`. */
export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** An API time (RFC 3339) in the browser's locale; '' for none or Go's zero time. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso || iso.startsWith('0001-01-01')) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString();
}

/** `sha256:0123456789ab…` → `sha256:0123456789ab` (the first 12 hex digits, as Harbor shows digests). */
export function shortDigest(digest: string | null | undefined): string {
  if (!digest) return '';
  const [algo, hex] = digest.split(':');
  return hex ? `${algo}:${hex.slice(0, 12)}` : digest;
}

/** The pull command of an artifact: by tag when there is one, else by digest. */
export function pullCommand(host: string, repository: string, tag: string | null, digest: string, tool: 'docker' | 'podman' = 'docker'): string {
  return `${tool} pull ${host}/${repository}${tag ? `:${tag}` : `@${digest}`}`;
}

/** Harbor's role ids and names (project members). */
export const roleNames: Record<number, string> = { 1: 'Project Admin', 2: 'Developer', 3: 'Guest', 4: 'Maintainer', 5: 'Limited Guest' };

/** A storage limit in bytes from a number and unit (`-1` unlimited). */
export function quotaBytes(value: number, unit: 'MiB' | 'GiB' | 'TiB'): number {
  if (value < 0) return -1;
  const f = unit === 'MiB' ? 2 ** 20 : unit === 'GiB' ? 2 ** 30 : 2 ** 40;
  return Math.round(value * f);
}
