import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogDestination, createLogger } from './logger.ts';
import { Metrics } from './metrics.ts';

const flushed = (d: LogDestination) => new Promise<void>((resolve) => d.flush(() => resolve()));

test('LogDestination writes every line, in order, to its file descriptor', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-log-'));
  const fd = openSync(join(dir, 'log'), 'a');
  try {
    const d = new LogDestination(fd, { flushOnExit: false });
    const logger = createLogger('info', { destination: d });
    for (let i = 0; i < 1000; i++) logger.info({ i }, 'line');
    await flushed(d);
    const lines = readFileSync(join(dir, 'log'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 1000);
    lines.forEach((l, i) => assert.equal((JSON.parse(l) as { i: number }).i, i));
    assert.equal(d.droppedLines, 0);
    assert.equal(d.lastError, null);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

// /dev/full answers every write with ENOSPC: a log file on a full disk. pino's default destination
// emits that as an 'error' nobody handles (the process dies, then its exit flush retries forever).
test('a log destination on a full disk (/dev/full) drops and counts lines, never throws or emits', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async () => {
  const fd = openSync('/dev/full', 'w');
  try {
    const d = new LogDestination(fd, { flushOnExit: false });
    const logger = createLogger('info', { destination: d });
    for (let i = 0; i < 200; i++) logger.info({ i }, 'a line that cannot be written');
    await flushed(d);
    assert.equal(d.droppedLines, 200);
    assert.equal(d.lastError?.code, 'ENOSPC');
    // flushSync (the exit hook) gives up at once instead of retrying forever.
    logger.info('one more');
    d.flushSync();
    await flushed(d);
    assert.equal(d.droppedLines, 201);

    const metrics = new Metrics(false);
    metrics.countLogDrops(() => d.droppedLines);
    assert.match((await metrics.render()).body, /^wharf_log_lines_dropped_total 201$/m);
    logger.info('and another');
    await flushed(d);
    assert.match((await metrics.render()).body, /^wharf_log_lines_dropped_total 202$/m);
  } finally {
    closeSync(fd);
  }
});

test('lines beyond the queue limit are dropped and counted while a write is in flight', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-log-'));
  const fd = openSync(join(dir, 'log'), 'a');
  try {
    const d = new LogDestination(fd, { flushOnExit: false, maxQueuedBytes: 100 });
    d.write('x'.repeat(60) + '\n'); // goes out at once
    d.write('y'.repeat(60) + '\n'); // queued behind it
    d.write('z'.repeat(60) + '\n'); // over the limit: dropped
    await flushed(d);
    assert.equal(d.droppedLines, 1);
    assert.equal(readFileSync(join(dir, 'log'), 'utf8'), 'x'.repeat(60) + '\n' + 'y'.repeat(60) + '\n');
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});
