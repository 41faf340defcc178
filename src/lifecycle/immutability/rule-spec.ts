/**
 * Harbor's ImmutableRule: validation of a request body into the stored filter, its wire view, and
 * the matcher over a project's enabled rules. Pure code.
 *
 * Harbor's matching (harbor-lifecycle.md §2.2): enabled rules in id order; only the first
 * repository selector and the first tag selector of a rule count. A rule selects a tag when the
 * repository path without the project passes its repository selector and the tag passes its tag
 * selector (`matches`: the pattern matches; `excludes`: it does not). An empty pattern matches
 * everything. Patterns are doublestar globs matched in linear time (src/domain/glob.ts), bounded
 * like webhook filters (globLimits) when a rule is created or changed.
 */
import { fail, globLimits, globMatch, globPatternProblem, isJsonObject } from '../../domain/index.ts';

/** One selector as Harbor sends it. */
export interface Selector {
  kind: 'doublestar';
  decoration: string;
  pattern: string;
  extras?: string;
}

/** The rule as stored in `tag_filter` (Harbor's rule without id, project_id and disabled). */
export interface RuleFilter {
  priority: number;
  action: 'immutable';
  template: 'immutable_template';
  tag_selectors: Selector[];
  scope_selectors: { repository: Selector[] };
}

/** A validated body: the filter, and `disabled` when the body carried it. */
export interface RuleInput {
  id: number | undefined;
  disabled: boolean | undefined;
  filter: RuleFilter;
}

/** Harbor's ImmutableRule on the wire. */
export interface RuleView extends RuleFilter {
  id: number;
  project_id: number;
  disabled: boolean;
  params: Record<string, never>;
}

const tagDecorations = new Set(['matches', 'excludes']);
const repoDecorations = new Set(['repoMatches', 'repoExcludes', 'matches', 'excludes']);
/** Selectors in one list (Harbor reads only the first; more are kept as sent). */
const maxSelectors = 8;

function selectors(v: unknown, field: string, decorations: ReadonlySet<string>): Selector[] {
  if (!Array.isArray(v) || v.length === 0) throw fail('BAD_REQUEST', `${field} must be a non-empty array of selectors`);
  if (v.length > maxSelectors) throw fail('BAD_REQUEST', `${field}: at most ${maxSelectors} selectors`);
  return v.map((s: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isJsonObject(s)) throw fail('BAD_REQUEST', `${at} must be an object`);
    if (s.kind !== 'doublestar') throw fail('BAD_REQUEST', `${at}.kind must be "doublestar"`);
    if (typeof s.decoration !== 'string' || !decorations.has(s.decoration)) {
      throw fail('BAD_REQUEST', `${at}.decoration must be one of ${[...decorations].map((d) => `"${d}"`).join(', ')}`);
    }
    const pattern = s.pattern ?? '';
    if (typeof pattern !== 'string') throw fail('BAD_REQUEST', `${at}.pattern must be a string`);
    if (pattern.length > globLimits.maxPatternLength) throw fail('BAD_REQUEST', `${at}.pattern is longer than ${globLimits.maxPatternLength} characters`);
    const problem = pattern === '' ? null : globPatternProblem(pattern);
    if (problem !== null) throw fail('BAD_REQUEST', `${at}.pattern ${problem}`);
    const out: Selector = { kind: 'doublestar', decoration: s.decoration, pattern };
    if (typeof s.extras === 'string' && s.extras !== '') {
      if (s.extras.length > 1024) throw fail('BAD_REQUEST', `${at}.extras is longer than 1024 characters`);
      out.extras = s.extras;
    }
    return out;
  });
}

/** Validates a POST or PUT body (Harbor's ImmutableRule); a 400 names the first bad field. */
export function parseRule(body: unknown): RuleInput {
  if (!isJsonObject(body)) throw fail('BAD_REQUEST', 'the request body must be an ImmutableRule object');
  let id: number | undefined;
  if (body.id !== undefined && body.id !== null) {
    if (typeof body.id !== 'number' || !Number.isSafeInteger(body.id)) throw fail('BAD_REQUEST', 'id must be an integer');
    id = body.id;
  }
  let disabled: boolean | undefined;
  if (body.disabled !== undefined && body.disabled !== null) {
    if (typeof body.disabled !== 'boolean') throw fail('BAD_REQUEST', 'disabled must be true or false');
    disabled = body.disabled;
  }
  const priority = body.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isSafeInteger(priority)) throw fail('BAD_REQUEST', 'priority must be an integer');
  const action = body.action ?? 'immutable';
  if (action !== 'immutable') throw fail('BAD_REQUEST', 'action must be "immutable"');
  const template = body.template ?? 'immutable_template';
  if (template !== 'immutable_template') throw fail('BAD_REQUEST', 'template must be "immutable_template"');
  const tagSelectors = selectors(body.tag_selectors, 'tag_selectors', tagDecorations);
  const scope = body.scope_selectors;
  if (!isJsonObject(scope)) throw fail('BAD_REQUEST', 'scope_selectors must be an object with a "repository" list');
  const repository = selectors(scope.repository, 'scope_selectors.repository', repoDecorations);
  return { id, disabled, filter: { priority, action: 'immutable', template: 'immutable_template', tag_selectors: tagSelectors, scope_selectors: { repository } } };
}

/** The stored text of a filter: fixed key order, so equal rules store equal text (Harbor's duplicate check). */
export function filterText(f: RuleFilter): string {
  return JSON.stringify(f);
}

/** Reads a stored filter (written by {@link filterText}). */
export function readFilter(text: string): RuleFilter {
  return parseRule(JSON.parse(text)).filter;
}

/** The wire view of a stored rule. */
export function ruleView(row: { id: number; project_id: number; disabled: number; tag_filter: string }): RuleView {
  const f = readFilter(row.tag_filter);
  return { id: row.id, project_id: row.project_id, disabled: row.disabled === 1, priority: f.priority, action: f.action, template: f.template, params: {}, tag_selectors: f.tag_selectors, scope_selectors: f.scope_selectors };
}

function passes(s: Selector, value: string): boolean {
  const hit = s.pattern === '' || globMatch(s.pattern, value);
  return s.decoration.endsWith('xcludes') ? !hit : hit;
}

/** Tells whether a tag of a repository (path without the project) is immutable. */
export type TagMatcher = (repository: string, tag: string) => boolean;

/** The matcher over a project's enabled filters (id order); null when there are none. */
export function compileMatcher(filters: readonly RuleFilter[]): TagMatcher | null {
  const rules: Array<{ repo: Selector; tag: Selector }> = [];
  for (const f of filters) {
    const repo = f.scope_selectors.repository[0];
    const tag = f.tag_selectors[0];
    if (repo && tag) rules.push({ repo, tag });
  }
  if (rules.length === 0) return null;
  return (repository, tag) => rules.some((r) => passes(r.repo, repository) && passes(r.tag, tag));
}
