#!/usr/bin/env node
// The `wharf` command: runs the TypeScript entry point through tsx's loader.
import { register } from 'node:module';
register('tsx/esm', import.meta.url);
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
