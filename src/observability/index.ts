/** Logs and metrics. */
export * from './metrics.ts';
