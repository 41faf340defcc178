/** Events: the catalog, the outbox writer and the dispatcher. */
export * from './catalog.ts';
export * from './outbox.ts';
