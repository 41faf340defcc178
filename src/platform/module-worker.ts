/**
 * Starting a `worker_threads` Worker from a module that sits next to the caller, both when Wharf
 * runs from its TypeScript sources under tsx (tests, `node --import tsx`) and when it runs compiled
 * from dist/ (`npm start`). Used by the WAL checkpointer and the delivery thread.
 *
 * Under tsx (a .ts caller) a tiny bootstrap first imports the entry as is (Node versions where
 * tsx's `--import` hooks reach workers) and otherwise registers tsx in the worker and imports it
 * again: on Node 20 tsx registers its loader in the main thread only, although execArgv is
 * inherited.
 */
import { Worker } from 'node:worker_threads';

/**
 * Starts the worker whose entry is `<name>.ts` (under tsx) or `<name>.js` (compiled) next to the
 * module `callerUrl` (pass `import.meta.url`), with `workerData`.
 */
export function startModuleWorker<T extends object>(callerUrl: string, name: string, workerData: T): Worker {
  const runningTs = callerUrl.endsWith('.ts');
  const entry = new URL(`./${name}${runningTs ? '.ts' : '.js'}`, callerUrl);
  // The worker inherits node's options, but --input-type (a host run with `-e`) refuses a file entry.
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  if (!runningTs) return new Worker(entry, { workerData, execArgv });
  // Dynamic import only: eval code is a CommonJS script, or ESM when execArgv has --input-type=module.
  const boot = `
    import('node:worker_threads').then(({ workerData }) => import(workerData.entry).catch((err) => {
      if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
      // A failed import stays cached under its URL: load the entry again under another one.
      return import(workerData.tsx).then((tsx) => { tsx.register(); return import(workerData.entry + '?tsx'); });
    }));`;
  return new Worker(boot, { eval: true, execArgv, workerData: { ...workerData, entry: entry.href, tsx: import.meta.resolve('tsx/esm/api') } });
}
