// PLACEHOLDER: being written by the registry helper. Replace this whole file.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../db/index.ts';
import type { BlobStore } from '../storage/index.ts';
import type { Outbox } from '../events/index.ts';
import type { Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { Metrics } from '../observability/index.ts';
import type { Registry } from './types.ts';

/** What the registry service needs. */
export interface RegistryDeps {
  db: Kysely<Database>;
  blobs: BlobStore;
  outbox: Outbox;
  authorizer: Authorizer;
  config: Config;
  metrics: Metrics;
  logger: Logger;
}

/** The registry service (placeholder). */
export class RegistryService {
  constructor(readonly deps: RegistryDeps) {}
}
export type _Check = Registry;
