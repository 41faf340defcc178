/**
 * The JavaScript heap's growth between full garbage collections (`server.heap_growth_percent`).
 * After a full GC V8 lets the old generation grow to a multiple of what survived, chosen from its
 * own speed estimates: under a sustained manifest GET load about three times the ~42 MiB that
 * survive, so RSS rises by some 80 MiB of garbage before each collection. A fixed factor of 1.3
 * kept RSS 30-100 MiB lower there at no measurable cost, but it is not the default: where much
 * survives the young generation for a while, as in a vulnerability database import, incremental
 * marking then hardly stops, and the import took four times the CPU (docs/testing.md, round
 * seven). V8's flags are process-wide, so worker threads follow too.
 */
import { setFlagsFromString } from 'node:v8';

/** Sets the heap's growth factor to 1 + `percent`/100; 0 leaves V8's own choice. */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}
