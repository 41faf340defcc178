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
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker whose entry is `<name>.ts` (under tsx) or `<name>.js` (compiled) next to the
 * module `callerUrl` (pass `import.meta.url`), with `workerData`.
 */
export function startModuleWorker<T extends object>(callerUrl: string, name: string, workerData: T): Worker {
  const runningTs = callerUrl.endsWith('.ts');
  const entry = new URL(`./${name}${runningTs ? '.ts' : '.js'}`, callerUrl);
  // The worker inherits node's options, but --input-type (a host run with `-e`) refuses a file entry.
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  if (!runningTs) return workerWithout(entry, { workerData, execArgv });
  // Dynamic import only: eval code is a CommonJS script, or ESM when execArgv has --input-type=module.
  const boot = `
    import('node:worker_threads').then(({ workerData }) => import(workerData.entry).catch((err) => {
      if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
      // A failed import stays cached under its URL: load the entry again under another one.
      return import(workerData.tsx).then((tsx) => { tsx.register(); return import(workerData.entry + '?tsx'); });
    }));`;
  return workerWithout(boot, { eval: true, execArgv, workerData: { ...workerData, entry: entry.href, tsx: import.meta.resolve('tsx/esm/api') } });
}

/**
 * `new Worker`, and once more without the options it refuses: process-wide V8 options such as
 * `--expose-gc` or `--max-old-space-size=N` (node run with them, as the benchmarks do) are invalid
 * in a worker's execArgv, and apply to its isolate anyway.
 */
function workerWithout(what: URL | string, options: WorkerOptions & { execArgv: string[] }): Worker {
  try {
    return new Worker(what, options);
  } catch (err) {
    if (!(err instanceof Error) || !('code' in err) || err.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    // "Initiated Worker with invalid execArgv flags: --expose-gc, --max-old-space-size=100"
    const refused = new Set(err.message.slice(err.message.indexOf(':') + 1).split(', ').map((f) => f.trim()));
    return new Worker(what, { ...options, execArgv: options.execArgv.filter((a) => !refused.has(a)) });
  }
}
