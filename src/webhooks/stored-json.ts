/**
 * Reading the JSON text columns of webhook rows (event types, filters, headers, options): a value
 * that cannot be read counts as empty, never as an error, so one bad row cannot break a listing.
 */
import { isRecord } from './formats/common.ts';

/** The parsed JSON of `text`, or null when it is null or not JSON. */
export function parseJsonText(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The strings of a JSON array column (anything else is left out). */
export function stringArray(text: string): string[] {
  const v = parseJsonText(text);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The string entries of a JSON object column (anything else is left out). */
export function stringMap(text: string | null): Record<string, string> {
  const v = parseJsonText(text);
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}
