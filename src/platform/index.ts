/** Node runtime helpers. */
export { startModuleWorker } from './module-worker.ts';
