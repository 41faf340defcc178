/**
 * The projects module's retention port: which tag retention policy a project has, shown as its
 * `retention_id` metadata (Harbor keeps it there). Projects declares it; tag retention
 * (src/lifecycle/retention/) implements it; main.ts wires them (ProjectDeps.retentionLinks).
 * Absent, projects show no `retention_id`.
 */

/** What project reads ask about retention. */
export interface RetentionLinks {
  /** The policy id of each of these projects that has one. */
  policyIds(projectIds: readonly number[]): Promise<Map<number, number>>;
}
