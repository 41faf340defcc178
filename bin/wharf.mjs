#!/usr/bin/env node
// The `wharf` command: runs the compiled entry point (dist/main.js, from `npm run build`) when it
// exists, else the TypeScript sources through tsx's loader (a checkout that was never built).
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const compiled = new URL('../dist/main.js', import.meta.url);
let main;
if (existsSync(compiled)) {
  ({ main } = await import(compiled.href));
} else {
  register('tsx/esm', import.meta.url);
  ({ main } = await import('../src/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
