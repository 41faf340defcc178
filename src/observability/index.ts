/** Logs, metrics and the disk's health. */
export * from './metrics.ts';
export * from './logger.ts';
export * from './disk.ts';
