/** The database: Kysely types, migrations and the repositories that are the only SQL in Wharf. */
export * from './schema.ts';
export { openDatabase, isPostgresUrl, type Db, type OpenDatabaseOptions } from './connect.ts';
export { dialectOf, isPostgres, autoId, bytesType, intListSql, isUniqueViolation, isTransientConflict, type Dialect } from './dialect.ts';
export { notify, Notifications, type Channel } from './notifications.ts';
export { JobStore, executionStatus, finalStatuses, parseJobAttrs, type JobStatus, type JobTrigger, type JobExecutionRow, type JobTaskRow, type TaskCounts, type NewExecution, type JobLogLine } from './job-store.ts';
export { likeContains } from './like.ts';
export { listPage, conditionSql, filterSql, orderTerms, orderBy, resolveList, type ListOrder, type OrderTerm, type ResolvedList } from './listing.ts';
export { WriteLock } from './statement-cache.ts';
export { GroupCommit, isRetryableSqliteError, isRetryableDbError, type GroupCommitOptions } from './group-commit.ts';
export * from './webhook-delivery-store.ts';
export * from './outbox-store.ts';
export * from './audit-store.ts';
export * from './login-store.ts';
export * from './registry-store.ts';
export * from './vuln-store.ts';
export * from './scanner-store.ts';
export * from './cve-allowlist-store.ts';
export * from './security-store.ts';
