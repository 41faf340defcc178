/**
 * Evaluation of a retention policy over one repository: which rules select the repository, what
 * each rule keeps, Harbor's OR processor, the decision per artifact, and the task log's table.
 * Pure code (facts: harbor-lifecycle.md §1.3, §1.4, §1.6, §1.8, §1.9).
 *
 * Rules only retain: in a repository the rules select, a candidate (an artifact, i.e. a digest with
 * all its tags) that no rule keeps is deleted, unless one of its tags is immutable. A rule first
 * narrows the candidates with its tag selectors (ANDed), then its template keeps some of those.
 *
 * Harbor sorts with an unstable sort, so which of two artifacts with the same time a `latest…K`
 * rule keeps is arbitrary there. Here ties go to the higher id (the artifact recorded later), so a
 * dry run and the real run that follows it keep the same set.
 */
import { globMatch } from '../../domain/index.ts';
import type { RetentionRule, RetentionSelector } from './policy.ts';

/** One artifact of the repository; times in ms since the epoch, 0 (or less) when never. */
export interface RetentionCandidate {
  id: number;
  digest: string;
  tags: string[];
  pushedMs: number;
  pulledMs: number;
  createdMs: number;
  labels: string[];
  kind: string;
}

/** Kept, deleted, or kept because a tag is immutable. */
export type RetentionDecision = 'RETAIN' | 'DEL' | 'IMMUTABLE';

const dayMs = 86_400_000;

/** Defaults when a parameter is missing (parsePolicy stores one; a hand-made rule may not). */
const defaults: Readonly<Record<string, number>> = { latestPushedK: 10, latestPulledN: 10, nDaysSinceLastPush: 30, nDaysSinceLastPull: 30, latestActiveK: 10, lastXDays: 10 };

function hit(pattern: string, value: string): boolean {
  return pattern === '' || globMatch(pattern, value);
}

/** `repoMatches` passes when the pattern matches the path, `repoExcludes` when it does not. */
function repositoryPasses(s: RetentionSelector, repoPath: string): boolean {
  const m = hit(s.pattern, repoPath);
  return s.decoration === 'repoExcludes' ? !m : m;
}

/** The `untagged` flag of a selector; when `extras` is empty or unreadable: true for `matches`, false for `excludes`. */
function untaggedFlag(s: RetentionSelector): boolean {
  if (s.extras !== '') {
    try {
      const v: unknown = JSON.parse(s.extras);
      if (typeof v === 'object' && v !== null && 'untagged' in v && typeof v.untagged === 'boolean') return v.untagged;
    } catch {
      // Unreadable: the default below.
    }
  }
  return s.decoration !== 'excludes';
}

/**
 * Whether a tag selector selects a candidate. `matches`: any tag matches, or untagged and the flag
 * is true. `excludes`: any tag does not match (`latest,1.2` passes "excludes latest"), or untagged
 * and the flag is false.
 */
function tagSelects(s: RetentionSelector, c: RetentionCandidate): boolean {
  const excludes = s.decoration === 'excludes';
  if (c.tags.length === 0) return untaggedFlag(s) !== excludes;
  return c.tags.some((t) => hit(s.pattern, t) !== excludes);
}

/** The enabled rules whose repository selectors (ANDed) select this repository path (without the project). */
export function rulesForRepository(rules: readonly RetentionRule[], repoPath: string): RetentionRule[] {
  return rules.filter((r) => !r.disabled && r.scope_selectors.repository.every((s) => repositoryPasses(s, repoPath)));
}

function param(r: RetentionRule): number {
  return r.params[r.template] ?? defaults[r.template] ?? 0;
}

/** The first `n` of `list` by `time` descending, ties by id descending. */
function latest(list: readonly RetentionCandidate[], n: number, time: (c: RetentionCandidate) => number): RetentionCandidate[] {
  return [...list].sort((a, b) => time(b) - time(a) || b.id - a.id).slice(0, n);
}

const pulled = (c: RetentionCandidate): number => Math.max(c.pulledMs, 0);

/** What a rule's template keeps of the candidates its tag selectors chose. */
function keep(r: RetentionRule, selected: readonly RetentionCandidate[], nowMs: number): readonly RetentionCandidate[] {
  const n = param(r);
  const since = nowMs - n * dayMs;
  switch (r.template) {
    case 'latestPushedK':
      return latest(selected, n, (c) => c.pushedMs);
    case 'latestPulledN':
      return latest(selected, n, pulled);
    case 'latestActiveK':
      return latest(selected, n, (c) => Math.max(c.pushedMs, pulled(c)));
    case 'nDaysSinceLastPush':
    case 'lastXDays':
      return selected.filter((c) => c.pushedMs >= since);
    case 'nDaysSinceLastPull':
      return selected.filter((c) => c.pulledMs > 0 && c.pulledMs >= since);
    case 'always':
      return selected;
  }
}

/**
 * Harbor's OR processor over a repository's candidates: retained = the union over the given rules
 * of (tag selectors ANDed, then the template); every other candidate is DEL, unless `immutable`
 * holds for one of its tags (IMMUTABLE). Disabled rules are skipped here too. The output follows
 * the order of `candidates`.
 */
export function evaluateRetention(
  rules: readonly RetentionRule[],
  candidates: readonly RetentionCandidate[],
  nowMs: number,
  immutable: ((tag: string) => boolean) | null,
): Array<{ candidate: RetentionCandidate; decision: RetentionDecision }> {
  const retained = new Set<RetentionCandidate>();
  for (const r of rules) {
    if (r.disabled) continue;
    const selected = candidates.filter((c) => r.tag_selectors.every((s) => tagSelects(s, c)));
    for (const c of keep(r, selected, nowMs)) retained.add(c);
  }
  return candidates.map((candidate) => {
    let decision: RetentionDecision = 'DEL';
    if (retained.has(candidate)) decision = 'RETAIN';
    else if (immutable !== null && candidate.tags.some(immutable)) decision = 'IMMUTABLE';
    return { candidate, decision };
  });
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** `YYYY/MM/DD HH:MM:SS` in UTC; empty for 0 or less. */
function logTime(ms: number): string {
  if (ms <= 0) return '';
  const d = new Date(ms);
  return `${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/**
 * The task log's table (§1.8): a header line, then one line per row; lists comma-joined, times in
 * UTC. The caller adds the log prefix to each line.
 */
export function retentionLogTable(rows: ReadonlyArray<{ candidate: RetentionCandidate; decision: RetentionDecision | 'ERR' }>): string[] {
  const lines = ['Digest | Tag | Kind | Labels | PushedTime | PulledTime | CreatedTime | Retention'];
  for (const { candidate: c, decision } of rows) {
    lines.push([c.digest, c.tags.join(','), c.kind, c.labels.join(','), logTime(c.pushedMs), logTime(c.pulledMs), logTime(c.createdMs), decision].join(' | '));
  }
  return lines;
}
