/**
 * A dependency loaded when it is first used instead of when Wharf starts. Every module a
 * process loads stays in its heap (its source text, its compiled code, its objects), so a large
 * library that only some installations or only some requests need (Liquid templates, CloudEvents,
 * CVSS scoring, LDAP) costs every instance memory, and every full garbage collection time, until
 * it is needed. The package is `require`d (its CommonJS build), synchronously, on the first call.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Returns a function that loads package `id` on its first call and returns it on every call. */
export function lazyModule<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
