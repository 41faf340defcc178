/**
 * Client side of the tag retention tests: Harbor's RetentionPolicy bodies, the calls of
 * `/api/v2.0/retentions` (create, replace, run, wait for an execution, its tasks and their logs),
 * and a reader of the task log's pipe table `Digest | Tag | Kind | Labels | PushedTime | PulledTime |
 * CreatedTime | Retention`.
 */
import assert from 'node:assert/strict';
import { api, explain } from './webhook-client.ts';
import { adminAuth } from './wharf.ts';

/** A tag selector as the API takes it. */
export interface TagSelector {
  kind: 'doublestar';
  decoration: 'matches' | 'excludes';
  pattern: string;
  extras: string;
}

/** A repository selector as the API takes it. */
export interface RepoSelector {
  kind: 'doublestar';
  decoration: 'repoMatches' | 'repoExcludes';
  pattern: string;
}

/** One rule of a RetentionPolicy. */
export interface RetentionRule {
  disabled: boolean;
  action: 'retain';
  template: string;
  params: Record<string, number>;
  tag_selectors: TagSelector[];
  scope_selectors: { repository: RepoSelector[] };
}

/** What {@link rule} takes: the template and its parameter, and the selectors (defaults: every tag, untagged too; every repository). */
export interface RuleSpec {
  template: 'latestPushedK' | 'latestPulledN' | 'nDaysSinceLastPush' | 'nDaysSinceLastPull' | 'always';
  /** The template's parameter (none for `always`). */
  n?: number;
  tags?: { decoration: 'matches' | 'excludes'; pattern: string; untagged: boolean };
  repos?: { decoration: 'repoMatches' | 'repoExcludes'; pattern: string };
  disabled?: boolean;
}

/** Builds a rule the way Harbor's UI sends it. */
export function rule(spec: RuleSpec): RetentionRule {
  const tags = spec.tags ?? { decoration: 'matches', pattern: '**', untagged: true };
  const repos = spec.repos ?? { decoration: 'repoMatches', pattern: '**' };
  return {
    disabled: spec.disabled ?? false,
    action: 'retain',
    template: spec.template,
    params: spec.n === undefined ? {} : { [spec.template]: spec.n },
    tag_selectors: [{ kind: 'doublestar', decoration: tags.decoration, pattern: tags.pattern, extras: JSON.stringify({ untagged: tags.untagged }) }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: repos.decoration, pattern: repos.pattern }] },
  };
}

/** A whole RetentionPolicy body for project `projectId`, without a schedule. */
export function policyBody(projectId: number, rules: RetentionRule[], summaryEvent = false): object {
  return {
    algorithm: 'or',
    scope: { level: 'project', ref: projectId },
    trigger: { kind: 'Schedule', settings: { cron: '' }, references: {} },
    rules,
    summary_event: summaryEvent,
  };
}

/** The last path segment of a Location header, as a number. */
function idFromLocation(loc: string | string[] | undefined, what: string): number {
  const id = Number(String(Array.isArray(loc) ? loc[0] : loc).split('/').pop());
  assert.ok(Number.isInteger(id) && id > 0, `${what}: no id in Location ${String(loc)}`);
  return id;
}

/** `POST /retentions`; returns the policy id from `Location` (asserts 201 and its form). */
export async function createRetention(base: string, projectId: number, rules: RetentionRule[], summaryEvent = false): Promise<number> {
  const a = await api(base, 'POST', '/api/v2.0/retentions', { auth: adminAuth, body: policyBody(projectId, rules, summaryEvent) });
  assert.equal(a.status, 201, explain('POST', '/api/v2.0/retentions', a));
  const id = idFromLocation(a.headers.location, 'POST /retentions');
  assert.equal(String(a.headers.location), `/api/v2.0/retentions/${id}`);
  return id;
}

/** `PUT /retentions/{id}`: replaces the policy's rules (asserts 200). */
export async function replaceRetention(base: string, id: number, projectId: number, rules: RetentionRule[], summaryEvent = false): Promise<void> {
  const path = `/api/v2.0/retentions/${id}`;
  const a = await api(base, 'PUT', path, { auth: adminAuth, body: { id, ...policyBody(projectId, rules, summaryEvent) } });
  assert.equal(a.status, 200, explain('PUT', path, a));
}

/** `POST /retentions/{id}/executions`; returns the execution id from `Location`. */
export async function startRetentionRun(base: string, id: number, dryRun: boolean): Promise<number> {
  const path = `/api/v2.0/retentions/${id}/executions`;
  const a = await api(base, 'POST', path, { auth: adminAuth, body: { dry_run: dryRun } });
  assert.equal(a.status, 201, explain('POST', path, a));
  const eid = idFromLocation(a.headers.location, `POST ${path}`);
  assert.equal(String(a.headers.location), `${path}/${eid}`);
  return eid;
}

/** An execution as `GET /retentions/{id}/executions` lists it. */
export interface RetentionExecution {
  id: number;
  policy_id: number;
  start_time: string;
  end_time: string;
  status: string;
  trigger: string;
  dry_run: boolean;
}

/** A task as `GET …/executions/{eid}/tasks` lists it. */
export interface RetentionTask {
  id: number;
  execution_id: number;
  repository: string;
  status: string;
  start_time: string;
  end_time: string;
  total: number;
  retained: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The policy's executions (asserts 200). */
export async function listExecutions(base: string, id: number): Promise<RetentionExecution[]> {
  const path = `/api/v2.0/retentions/${id}/executions?page_size=100`;
  const a = await api(base, 'GET', path, { auth: adminAuth });
  assert.equal(a.status, 200, explain('GET', path, a));
  assert.ok(Array.isArray(a.json), explain('GET', path, a));
  return a.json as RetentionExecution[]; // the documented list (status and array checked)
}

/** Polls the execution list until `eid` is no longer Running (or `timeoutMs` passes: then fails). */
export async function waitForExecution(base: string, id: number, eid: number, timeoutMs = 60_000): Promise<RetentionExecution> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = (await listExecutions(base, id)).find((x) => x.id === eid);
    assert.ok(e, `execution ${eid} is listed by GET /retentions/${id}/executions`);
    if (e.status !== 'Running' && e.status !== 'Pending' && e.status !== 'Scheduled') return e;
    if (Date.now() > deadline) assert.fail(`execution ${eid} still ${e.status} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** The execution's tasks (asserts 200). */
export async function executionTasks(base: string, id: number, eid: number): Promise<RetentionTask[]> {
  const path = `/api/v2.0/retentions/${id}/executions/${eid}/tasks?page_size=100`;
  const a = await api(base, 'GET', path, { auth: adminAuth });
  assert.equal(a.status, 200, explain('GET', path, a));
  assert.ok(Array.isArray(a.json), explain('GET', path, a));
  return a.json as RetentionTask[]; // the documented list (status and array checked)
}

/** A task's log (asserts 200 and text/plain). */
export async function taskLog(base: string, id: number, eid: number, tid: number): Promise<string> {
  const path = `/api/v2.0/retentions/${id}/executions/${eid}/tasks/${tid}`;
  const a = await api(base, 'GET', path, { auth: adminAuth });
  assert.equal(a.status, 200, explain('GET', path, a));
  assert.match(String(a.headers['content-type']), /^text\/plain/, `GET ${path}: content-type`);
  return a.text;
}

/** One line of the task log's table. */
export interface RetentionLogRow {
  /** The Digest cell as written (the full `sha256:…`, or a prefix of it). */
  digest: string;
  tags: string[];
  retention: string;
}

/** The columns of the table's header line. */
export const logColumns = ['Digest', 'Tag', 'Kind', 'Labels', 'PushedTime', 'PulledTime', 'CreatedTime', 'Retention'];

/**
 * Reads the table rows of a retention task log: the lines after the header line whose cells
 * (split on `|`, trimmed, outer border cells dropped) are eight, the first a digest. A line prefix
 * (`<time> [INFO] [...]:`) before the first cell is allowed; separator lines (`+---+`) are skipped.
 */
export function parseRetentionTable(log: string): RetentionLogRow[] {
  const lines = log.split('\n');
  const cellsOf = (line: string): string[] => {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length > 0 && cells[cells.length - 1] === '') cells.pop();
    return cells;
  };
  const headerAt = lines.findIndex((l) => {
    const cells = cellsOf(l);
    const last = cells.slice(-8);
    return last.length === 8 && (last[0] ?? '').endsWith('Digest') && last.slice(1).every((c, i) => c === logColumns[i + 1]);
  });
  assert.ok(headerAt >= 0, `the task log has the header ${logColumns.join(' | ')}:\n${log}`);
  const rows: RetentionLogRow[] = [];
  for (const line of lines.slice(headerAt + 1)) {
    const cells = cellsOf(line).slice(-8);
    if (cells.length !== 8) continue;
    const [digestCell = '', tagCell = '', , , , , , retention = ''] = cells;
    // The first cell may carry the log line's prefix before the digest.
    const m = /(sha256:)?[0-9a-f]{12,64}$/.exec(digestCell);
    if (!m) continue;
    rows.push({ digest: m[0], tags: tagCell === '' ? [] : tagCell.split(',').map((t) => t.trim()), retention });
  }
  return rows;
}

/**
 * Resolves a Digest cell to one of `known` (the full digests): equal, or the only one it is a
 * prefix of (with or without `sha256:`); undefined otherwise.
 */
export function resolveDigest(cell: string, known: Iterable<string>): string | undefined {
  const hex = cell.replace(/^sha256:/, '');
  const hits = [...known].filter((d) => d.replace(/^sha256:/, '').startsWith(hex));
  return hits.length === 1 ? hits[0] : undefined;
}
