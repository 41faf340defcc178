// PLACEHOLDER: being written by the Harbor API helper. Replace this whole file.
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { Outbox } from '../events/index.ts';
import type { Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { Registry } from '../registry/types.ts';

/** What the project service needs. */
export interface ProjectDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  authorizer: Authorizer;
  config: Config;
  registry: Registry;
}
/** Projects (placeholder). */
export class ProjectService {
  constructor(readonly deps: ProjectDeps) {}
  /** Creates the project when missing (first start). */
  async ensureProject(_name: string, _isPublic: boolean): Promise<void> {}
}
