/** Pure domain types and rules: digests, names, references, errors. No I/O. */
export * from './errors.ts';
export * from './digest.ts';
export * from './names.ts';
export * from './media-types.ts';
export * from './manifest.ts';
export * from './glob.ts';
export * from './listing.ts';
export * from './cve-allowlist.ts';
export * from './artifact-type.ts';
export * from './json-values.ts';
