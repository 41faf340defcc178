/** Logs, metrics, traces and the disk's health. */
export * from './metrics.ts';
export * from './logger.ts';
export * from './disk.ts';
export * from './tracing.ts';
