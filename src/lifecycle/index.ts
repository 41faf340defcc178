/** Artifact lifecycle: tag immutability (./immutability/) and tag retention (./retention/). */
export { ImmutabilityRules, cacheTtlMs, maxRulesPerProject, type ImmutabilityRulesDeps, type RuleProjectKey } from './immutability/immutability-rules.ts';
export type { RuleView } from './immutability/rule-spec.ts';
export { RetentionService, RETENTION, RETENTION_SCHEDULE, retentionScheduleOperator, type RetentionServiceDeps } from './retention/retention-service.ts';
