/**
 * The built-in scanner's language-package analyzers: npm (node_modules and package-lock.json),
 * Python (dist-info and egg-info metadata), Go binaries (embedded build info) and Java archives
 * (pom.properties, with nested jars). See docs/scanning.md, "Language packages".
 */
import type { FileAnalyzer } from '../types.ts';
import { goBinaryAnalyzer } from './go-binary.ts';
import { javaAnalyzer } from './java.ts';
import { npmAnalyzer } from './npm.ts';
import { pythonAnalyzer } from './python.ts';

export { goBinaryAnalyzer } from './go-binary.ts';
export { javaAnalyzer } from './java.ts';
export { npmAnalyzer } from './npm.ts';
export { pythonAnalyzer } from './python.ts';

/** Every language-package analyzer, in a fixed order. */
export function languageAnalyzers(): FileAnalyzer[] {
  return [npmAnalyzer(), pythonAnalyzer(), goBinaryAnalyzer(), javaAnalyzer()];
}
