/** Artifact lifecycle: tag immutability (./immutability/); retention and labels join it. */
export { ImmutabilityRules, cacheTtlMs, maxRulesPerProject, type ImmutabilityRulesDeps, type RuleProjectKey } from './immutability/immutability-rules.ts';
export type { RuleView } from './immutability/rule-spec.ts';
