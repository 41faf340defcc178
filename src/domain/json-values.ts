/**
 * Reading JSON that came from outside or from a text column: a type guard for plain objects, and
 * lenient readers of stored JSON text (a list of strings, an object) that give an empty value for
 * text that is not what they expect.
 */

/** True for a JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The strings of a stored JSON array; [] when the text is not JSON or not an array. */
export function storedStringArray(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** A stored JSON object; {} when the text is not JSON or not an object. */
export function storedObject(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return isJsonObject(v) ? v : {};
  } catch {
    return {};
  }
}
