/** Events: the catalog, the outbox writer and the wake-up loop of the outbox's consumers. */
export * from './catalog.ts';
export * from './outbox.ts';
export * from './outbox-loop.ts';
