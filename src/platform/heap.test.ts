import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const heapModule = fileURLToPath(new URL('./heap.ts', import.meta.url));

/**
 * In a fresh node: about 40 MiB that stays live, then rounds of objects that live for a few rounds
 * (long enough to reach the old generation) and die; prints the old space's largest size.
 */
function peakOldSpaceMiB(percent: number): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { limitHeapGrowth } from ${JSON.stringify(heapModule)};
    limitHeapGrowth(${percent});
    const live = [];
    for (let i = 0; i < 300_000; i++) live.push({ a: i, b: 'x' + i, c: [i] });
    globalThis.gc();
    const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
    let peak = 0;
    const recent = [];
    for (let r = 0; r < 400; r++) {
      const batch = [];
      for (let i = 0; i < 20_000; i++) batch.push({ r, i, s: 'y' + i });
      recent.push(batch);
      if (recent.length > 8) recent.shift();
      peak = Math.max(peak, oldSpace());
      await new Promise((resolve) => setImmediate(resolve));
    }
    process.stdout.write(String(peak / 1048576) + ' ' + live.length);`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return Number(out.split(' ')[0]);
}

describe('limitHeapGrowth', () => {
  it('keeps the old generation near what is live, where V8 alone lets it grow to several times that', () => {
    const own = peakOldSpaceMiB(0);
    const limited = peakOldSpaceMiB(30);
    // About 55 MiB is live at any time here: V8 alone let the old space reach ~220 MiB, 30 % ~95.
    assert.ok(limited < 130, `with 30 %: ${limited.toFixed(1)} MiB`);
    assert.ok(limited < own * 0.7, `with 30 %: ${limited.toFixed(1)} MiB, V8's own: ${own.toFixed(1)} MiB`);
  });
});
