/** The checkout's git facts the benchmarks record with their results (the commit, uncommitted files). */
import { execFileSync } from 'node:child_process';

/** Runs `git args` in the checkout; 'unknown' when git is missing or fails. */
export function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', cwd: import.meta.dirname }).trim();
  } catch {
    return 'unknown';
  }
}
