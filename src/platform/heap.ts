/**
 * The JavaScript heap's growth between full garbage collections. After a full GC V8 lets the old
 * generation grow to a multiple of what survived, chosen from its own speed estimates: on Wharf
 * under a sustained manifest GET load that was about three times the ~42 MiB that survive (each
 * GET's pull event and audit entry leave some garbage there), so RSS rose by some 80 MiB of
 * garbage before each collection. A fixed factor keeps the heap near what is live, for more
 * frequent but incremental full collections (a few milliseconds each, about one every 1.5 s
 * under that load). V8's flags are process-wide, so worker threads follow too.
 */
import { setFlagsFromString } from 'node:v8';

/** Sets the heap's growth factor to 1 + `percent`/100; 0 leaves V8's own choice. */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}
