/**
 * Version order for every ecosystem the built-in scanner matches, and OSV range evaluation.
 * See docs/scanning.md, "Version order".
 */
export { compareVersions, isValidVersion, type VersionScheme } from './compare.ts';
export { schemeForEcosystem } from './ecosystem.ts';
export { affects, fixedVersionFor, type OsvEvent, type OsvRange } from './osv-range.ts';
