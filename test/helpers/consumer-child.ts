/**
 * A process consuming the outbox with a slow handler, for the kill -9 test
 * (test/integration/outbox-consumers.test.ts): node --import tsx consumer-child.ts <db file or postgres:// URL> <log file> <delay ms>.
 *
 * Its consumer 'kill-test' takes PUSH_ARTIFACT events in batches of 7 and, inside the batch's
 * transaction, inserts one `consumed` row per event (no unique key: a second application would
 * show), appends "begin <first>-<last>" to the log file, then waits `delay` ms, so a kill lands
 * inside a transaction most of the time; after the commit it appends "commit <first>-<last>".
 */
import { appendFileSync } from 'node:fs';
import { sql } from 'kysely';
import { pino } from 'pino';
import { openDatabase } from '../../src/db/index.ts';
import { ConsumerRunner, Outbox } from '../../src/events/index.ts';

const [file, logFile, delayText] = process.argv.slice(2);
if (!file || !logFile || !delayText) throw new Error('usage: consumer-child.ts <db file> <log file> <delay ms>');
const delay = Number(delayText);
const db = await openDatabase(file, { migrate: false });
const runner = new ConsumerRunner({ db: db.kysely, outbox: new Outbox(), logger: pino({ level: 'silent' }), pollMs: 10 });
runner.register({
  name: 'kill-test',
  types: ['PUSH_ARTIFACT'],
  batchSize: 7,
  async handle(batch, trx) {
    for (const r of batch) await sql`INSERT INTO consumed (seq, pid) VALUES (${r.seq}, ${process.pid})`.execute(trx);
    const range = `${batch[0]?.seq}-${batch[batch.length - 1]?.seq}`;
    appendFileSync(logFile, `begin ${range}\n`);
    await new Promise((r) => setTimeout(r, delay));
    return () => appendFileSync(logFile, `commit ${range}\n`);
  },
});
runner.start();
process.stdout.write('ready\n');
