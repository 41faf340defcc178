/**
 * The built-in scanner's image analyzer: streams an image's layers once and returns its OS and
 * installed packages. See docs/scanning.md, "Image analysis".
 */
export { analyzeImage, isScannableLayer, type AnalyzeOptions } from './analyze-image.ts';
export { defaultAnalyzers, osPackageAnalyzers } from './default-analyzers.ts';
export { detectOs } from './os-release.ts';
export { findIgzip, findZstd, type GzipDecoder, type ZstdDecoder } from './layer-walker.ts';
export { readAll, readText, DEFAULT_MAX_FILE_BYTES } from './read-body.ts';
export type { BlobFile, FileAnalyzer, FileEntry, ImageSource, InstalledPackage, Inventory, OsInfo, PackageType } from './types.ts';
