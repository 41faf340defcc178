/** Events: the catalog, the outbox writer and the runner of the outbox's consumers. */
export * from './catalog.ts';
export * from './outbox.ts';
export * from './outbox-loop.ts';
export * from './consumers.ts';
