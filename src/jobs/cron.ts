/**
 * Harbor's schedules: a 6-field cron, seconds first (`sec min hour dom month dow`), evaluated in
 * UTC, whose seconds field must be the literal `0` (Harbor's ValidateCronString). Next run times
 * come from croner.
 */
import { Cron } from 'croner';
import { fail } from '../domain/index.ts';

/** The schedule types that store a cron. */
export type CronType = 'Hourly' | 'Daily' | 'Weekly' | 'Custom';

/** The crons of Harbor's UI presets. */
export const presetCrons: Record<Exclude<CronType, 'Custom'>, string> = {
  Hourly: '0 0 * * * *',
  Daily: '0 0 0 * * *',
  Weekly: '0 0 0 * * 0',
};

/** Why `cron` is not a valid Harbor cron (the bare reason, no prefix), with its compiled form when it is. */
function parse(cron: string): { cron: Cron } | { problem: string } {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 6) return { problem: `expected exactly 6 fields (seconds first), found ${fields.length}` };
  if (fields[0] !== '0') return { problem: 'the 1st field (indicating Seconds of time) of the cron setting must be 0' };
  try {
    return { cron: new Cron(fields.join(' '), { timezone: 'UTC', paused: true }) };
  } catch (err) {
    return { problem: err instanceof Error ? err.message : String(err) };
  }
}

function compile(cron: string): Cron {
  const r = parse(cron);
  if ('problem' in r) throw fail('BAD_REQUEST', `invalid cron ${cron}: ${r.problem}`);
  return r.cron;
}

/** Null when `cron` is a valid Harbor cron, else the reason, for callers that word their own message. */
export function cronProblem(cron: string): string | null {
  const r = parse(cron);
  return 'problem' in r ? r.problem : null;
}

/** Throws BAD_REQUEST `invalid cron <c>: ...` unless `cron` is a valid Harbor cron. */
export function validateCron(cron: string): void {
  compile(cron);
}

/** The first firing of `cron` strictly after `after` (ms since the epoch, UTC). */
export function nextRun(cron: string, after: number): number {
  const next = compile(cron).nextRun(new Date(after));
  if (!next) throw fail('BAD_REQUEST', `invalid cron ${cron}: it never fires`);
  return next.getTime();
}
