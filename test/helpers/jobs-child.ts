/**
 * A process running the job framework alone on a database (a SQLite file or a postgres:// URL),
 * for the kill -9 test:
 *   node --import tsx test/helpers/jobs-child.ts <db path or URL> <slow|fast> <max runs>
 * It registers SLOW_JOB, whose run logs "working", prints `running <task id>` on stdout and then
 * takes 60 s (slow) or finishes at once (fast). Lease 1 s, poll 100 ms.
 */
import { pino } from 'pino';
import { openDatabase } from '../../src/db/index.ts';
import { JobService } from '../../src/jobs/index.ts';

const [path, mode, maxRuns] = process.argv.slice(2);
if (!path || (mode !== 'slow' && mode !== 'fast')) throw new Error('usage: jobs-child.ts <db> <slow|fast> <max runs>');
const db = await openDatabase(path, { checkpointIntervalMs: 0 });
const jobs = new JobService({
  db: db.kysely,
  logger: pino({ level: 'warn' }, pino.destination(2)),
  config: { poll_ms: 100, lease_seconds: 1, concurrency: 1, max_runs: Number(maxRuns ?? 2), history_max_age_days: 30, history_max_per_type: 1000 },
});
jobs.register({
  vendorType: 'SLOW_JOB',
  async run(ctx) {
    await ctx.log('working');
    process.stdout.write(`running ${ctx.taskId}\n`);
    if (mode === 'slow') await new Promise((resolve) => setTimeout(resolve, 60_000));
    return { finished_on_run: ctx.runCount };
  },
});
await jobs.start();
process.stdout.write('ready\n');
// The framework's timers are unref'd (a server keeps its process alive); this child has nothing else.
const keepAlive = setInterval(() => {}, 60_000);
process.on('SIGTERM', () => void jobs.stop().then(() => clearInterval(keepAlive)).then(() => db.close()).then(() => process.exit(0)));
