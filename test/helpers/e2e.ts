/**
 * The per-file setup the skopeo e2e tests share: one Wharf started before the file's tests (unless
 * skopeo is missing and the tests skip), scratch OCI layouts, and the hooks that clean both up.
 */
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, type TestWharf } from './wharf.ts';
import { requireSkopeo, skipWithoutSkopeo } from './skopeo.ts';
import { OciLayout } from './oci-layout.ts';

/** What an e2e test file uses from {@link useE2eWharf}. */
export interface E2eWharf {
  /** The reason the file's tests skip (no skopeo), or false; pass it as the tests' `skip` option. */
  skip: string | false;
  /** The running Wharf; fails the test (or makes it skip) when skopeo is missing or Wharf did not start. */
  wharf(): TestWharf;
  /** A fresh OCI layout directory, removed after the file's tests. */
  layout(): OciLayout;
}

/**
 * Registers `before`/`after` hooks (call it at the top level of a test file) that start one Wharf,
 * run `setup` against it, and afterwards remove every layout made by `layout()` and close Wharf.
 */
export function useE2eWharf(setup?: (w: TestWharf) => Promise<void>): E2eWharf {
  const skip = skipWithoutSkopeo();
  let w: TestWharf | undefined;
  const layouts: OciLayout[] = [];

  before(async () => {
    if (skip) return;
    w = await startWharf();
    if (setup) await setup(w);
  });
  after(async () => {
    for (const l of layouts) l.remove();
    await w?.close();
  });

  return {
    skip,
    wharf(): TestWharf {
      requireSkopeo();
      assert.ok(w, 'Wharf did not start');
      return w;
    },
    layout(): OciLayout {
      const l = OciLayout.create();
      layouts.push(l);
      return l;
    },
  };
}

/** A push of a burst: its name and the push itself, resolving to the manifest digest the registry acknowledged. */
export interface BurstJob {
  name: string;
  run: () => Promise<string>;
}

/** What {@link burstWithKill} saw: the pushes acknowledged (name → digest), those that failed, and when the kill began. */
export interface BurstOutcome {
  acked: Map<string, string>;
  failed: string[];
  killed: boolean;
  killedAt: number;
}

/**
 * Runs `jobs` with `workers` pushes in flight and calls `kill` (a kill -9) once `killAfter` of them
 * were acknowledged, while the others are still going; resolves when every job ended and the kill
 * finished.
 */
export async function burstWithKill(jobs: readonly BurstJob[], opts: { workers: number; killAfter: number; kill: () => Promise<void> }): Promise<BurstOutcome> {
  const acked = new Map<string, string>();
  const failed: string[] = [];
  let next = 0;
  let killed: Promise<void> | undefined;
  let killedAt = 0;
  const worker = async () => {
    for (;;) {
      const job = jobs[next++];
      if (!job) return;
      try {
        acked.set(job.name, await job.run());
      } catch {
        failed.push(job.name);
      }
      if (acked.size >= opts.killAfter && !killed) {
        killedAt = Date.now();
        killed = opts.kill();
      }
    }
  };
  await Promise.all(Array.from({ length: opts.workers }, worker));
  await killed;
  return { acked, failed, killed: killed !== undefined, killedAt };
}
