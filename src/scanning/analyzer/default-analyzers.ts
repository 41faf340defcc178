/**
 * The analyzers a scan runs unless told otherwise: the OS package databases, then the language
 * packages. OS detection is not among them; analyzeImage always runs it.
 */
import type { FileAnalyzer } from './types.ts';
import { dpkgAnalyzer } from './dpkg.ts';
import { apkAnalyzer } from './apk.ts';
import { rpmAnalyzer } from './rpm.ts';
import { languageAnalyzers } from './lang/index.ts';

/** The OS package analyzers (dpkg, apk, rpm). */
export function osPackageAnalyzers(): FileAnalyzer[] {
  return [dpkgAnalyzer, apkAnalyzer, rpmAnalyzer];
}

/** Every analyzer a default scan runs, in a fixed order. */
export function defaultAnalyzers(): FileAnalyzer[] {
  return [...osPackageAnalyzers(), ...languageAnalyzers()];
}
