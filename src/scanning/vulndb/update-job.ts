/**
 * The VULNDB_UPDATE job: `scanning.vulndb.update_schedule` runs {@link VulnDb.update} on the job
 * framework (one execution per run, its log and result kept like any other job's).
 */
import { validateCron, type CronType, type JobHandler } from '../../jobs/index.ts';
import type { VulnDb } from './vulndb.ts';

/** The job's vendor type. */
export const vulndbUpdateType = 'VULNDB_UPDATE';

/**
 * `update_schedule` as a job schedule: null for `None`, a preset (`Hourly`, `Daily`, `Weekly`),
 * else a 6-field cron (seconds first), which must be valid.
 */
export function vulndbScheduleOf(schedule: string): { type: CronType; cron?: string } | null {
  const s = schedule.trim();
  if (s === '' || s.toLowerCase() === 'none') return null;
  const preset = (['Hourly', 'Daily', 'Weekly'] as const).find((p) => p.toLowerCase() === s.toLowerCase());
  if (preset) return { type: preset };
  validateCron(s);
  return { type: 'Custom', cron: s };
}

/** The handler: updates from `source` for `ecosystems` (the configuration's, read at each run). */
export function vulndbUpdateJob(vulndb: VulnDb, settings: () => { source: string; ecosystems: readonly string[] }): JobHandler {
  return {
    vendorType: vulndbUpdateType,
    concurrency: 1,
    maxRuns: 1,
    async run(ctx) {
      const { source, ecosystems } = settings();
      await ctx.log(`updating the vulnerability database from ${source}: ${ecosystems.join(', ')}`);
      const r = await vulndb.update({ source, ecosystems, signal: ctx.signal });
      await ctx.log(`imported ${r.records} records (${r.written} written, ${r.unchanged} unchanged, ${r.withdrawn} withdrawn, ${r.invalid} invalid) in ${r.ms} ms; ${r.advisories} advisories`);
      return { ...r };
    },
  };
}
