/**
 * Harbor's RetentionPolicy: validation of a POST/PUT body into the stored spec, the stored text and
 * its reader, the wire view, `GET /retentions/metadatas`, and a rule as TAG_RETENTION shows it.
 * Pure code (facts: harbor-lifecycle.md §1.1–1.5).
 *
 * Harbor validates almost nothing here (a bogus template gets 201 and fails at run time); Wharf
 * refuses what could never run, with a 400 naming the field, and keeps Harbor's own messages for
 * what Harbor checks (rule count, conflicting rules, scope, project id). Where Harbor quietly falls
 * back to a default (a missing or unreadable template parameter), Wharf does too, and stores the
 * value it will use, so the wire view shows what runs.
 *
 * Patterns are doublestar globs matched in linear time (src/domain/glob.ts), bounded like
 * immutability rules (globLimits, through globPatternProblem) when a policy is created or changed.
 */
import { fail, globPatternProblem, isJsonObject } from '../../domain/index.ts';

/** Every template Harbor registers; the last two are hidden from the metadata. */
export type RetentionTemplate = 'latestPushedK' | 'latestPulledN' | 'nDaysSinceLastPush' | 'nDaysSinceLastPull' | 'always' | 'latestActiveK' | 'lastXDays';

/** One selector; `extras` is JSON text (`{"untagged":true}`) or empty. */
export interface RetentionSelector {
  kind: 'doublestar';
  decoration: string;
  pattern: string;
  extras: string;
}

/** A rule as stored and shown; `params` holds the template's parameter under the template's id (none for `always`). */
export interface RetentionRule {
  id: number;
  priority: number;
  disabled: boolean;
  action: 'retain';
  template: RetentionTemplate;
  params: Record<string, number>;
  tag_selectors: RetentionSelector[];
  scope_selectors: { repository: RetentionSelector[] };
}

/** What a project's policy stores; `cron` is empty when the policy has no schedule. */
export interface RetentionSpec {
  algorithm: 'or';
  rules: RetentionRule[];
  cron: string;
  summary_event: boolean;
}

interface TemplateFacts {
  /** Shown in the metadata; null for the hidden templates. */
  display: { text: string; unit: 'COUNT' | 'DAYS' | null } | null;
  /** The parameter's default and upper bound (inclusive); null for `always`. */
  param: { default: number; max: number } | null;
}

/** Harbor's checks say `0 <= K < 32767` and `0 <= N <= 20190904`; the hidden templates borrow the bound of their unit. */
const maxCount = 32766;
const maxDays = 20190904;

const templates: Readonly<Record<RetentionTemplate, TemplateFacts>> = {
  latestPushedK: { display: { text: 'the most recently pushed # artifacts', unit: 'COUNT' }, param: { default: 10, max: maxCount } },
  latestPulledN: { display: { text: 'the most recently pulled # artifacts', unit: 'COUNT' }, param: { default: 10, max: maxCount } },
  nDaysSinceLastPush: { display: { text: 'pushed within the last # days', unit: 'DAYS' }, param: { default: 30, max: maxDays } },
  nDaysSinceLastPull: { display: { text: 'pulled within the last # days', unit: 'DAYS' }, param: { default: 30, max: maxDays } },
  always: { display: { text: 'always', unit: null }, param: null },
  latestActiveK: { display: null, param: { default: 10, max: maxCount } },
  lastXDays: { display: null, param: { default: 10, max: maxDays } },
};

const templateIds = Object.keys(templates);

function isTemplate(v: unknown): v is RetentionTemplate {
  return typeof v === 'string' && Object.hasOwn(templates, v);
}

/** Rules in one policy (Harbor's limit). */
export const maxRules = 15;
/** Selectors in one list. */
const maxSelectors = 8;
/** Characters in one selector's `extras`. */
const maxExtras = 1024;

const tagDecorations = ['matches', 'excludes'] as const;
const repoDecorations = ['repoMatches', 'repoExcludes'] as const;

function isUntaggedExtras(text: string): boolean {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return false;
  }
  return isJsonObject(v) && Object.keys(v).length === 1 && typeof v.untagged === 'boolean';
}

function selectors(v: unknown, field: string, decorations: readonly string[]): RetentionSelector[] {
  if (!Array.isArray(v) || v.length === 0) throw fail('BAD_REQUEST', `${field} must be a non-empty array of selectors`);
  if (v.length > maxSelectors) throw fail('BAD_REQUEST', `${field}: at most ${maxSelectors} selectors`);
  return v.map((s: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isJsonObject(s)) throw fail('BAD_REQUEST', `${at} must be an object`);
    if (s.kind !== 'doublestar') throw fail('BAD_REQUEST', `${at}.kind must be "doublestar"`);
    if (typeof s.decoration !== 'string' || !decorations.includes(s.decoration)) {
      throw fail('BAD_REQUEST', `${at}.decoration must be one of ${decorations.map((d) => `"${d}"`).join(', ')}`);
    }
    const pattern = s.pattern ?? '';
    if (typeof pattern !== 'string') throw fail('BAD_REQUEST', `${at}.pattern must be a string`);
    const problem = pattern === '' ? null : globPatternProblem(pattern);
    if (problem !== null) throw fail('BAD_REQUEST', `${at}.pattern ${problem}`);
    const extras = s.extras ?? '';
    if (typeof extras !== 'string') throw fail('BAD_REQUEST', `${at}.extras must be a string`);
    if (extras.length > maxExtras) throw fail('BAD_REQUEST', `${at}.extras is longer than ${maxExtras} characters`);
    if (extras !== '' && !isUntaggedExtras(extras)) throw fail('BAD_REQUEST', `${at}.extras must be empty or {"untagged":true|false}`);
    return { kind: 'doublestar', decoration: s.decoration, pattern, extras };
  });
}

/**
 * A template parameter as Harbor reads it: a JSON number (truncated to an integer) or a string of
 * decimal digits; anything else, or nothing, gives the template's default. Wharf adds the bounds.
 */
function param(v: unknown, field: string, facts: { default: number; max: number }): number {
  let n: number | null = null;
  if (typeof v === 'number') n = Math.trunc(v);
  else if (typeof v === 'string' && /^[+-]?[0-9]+$/.test(v)) n = Number(v);
  if (n === null) return facts.default;
  if (n < 0 || n > facts.max) throw fail('BAD_REQUEST', `${field} must be an integer from 0 to ${facts.max}`);
  return n;
}

function integer(v: unknown, field: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw fail('BAD_REQUEST', `${field} must be an integer`);
  return v;
}

function rule(v: unknown, index: number): RetentionRule {
  const at = `rules[${index}]`;
  if (!isJsonObject(v)) throw fail('BAD_REQUEST', `${at} must be an object`);
  const id = integer(v.id, `${at}.id`, index);
  const priority = integer(v.priority, `${at}.priority`, 0);
  const disabled = v.disabled ?? false;
  if (typeof disabled !== 'boolean') throw fail('BAD_REQUEST', `${at}.disabled must be true or false`);
  const action = v.action ?? 'retain';
  if (action !== 'retain') throw fail('BAD_REQUEST', `${at}.action must be "retain"`);
  const template = v.template;
  if (!isTemplate(template)) {
    const sent = typeof template === 'string' ? `, not "${template}"` : '';
    throw fail('BAD_REQUEST', `${at}.template must be one of ${templateIds.map((t) => `"${t}"`).join(', ')}${sent}`);
  }
  const rawParams = v.params ?? {};
  if (!isJsonObject(rawParams)) throw fail('BAD_REQUEST', `${at}.params must be an object`);
  const facts = templates[template].param;
  // Only the template's own key counts (Harbor ignores the others); `always` takes none.
  const params: Record<string, number> = facts === null ? {} : { [template]: param(rawParams[template], `${at}.params.${template}`, facts) };
  const tagSelectors = selectors(v.tag_selectors, `${at}.tag_selectors`, tagDecorations);
  const scope = v.scope_selectors;
  if (!isJsonObject(scope)) throw fail('BAD_REQUEST', `${at}.scope_selectors must be an object with a "repository" list`);
  const repository = selectors(scope.repository, `${at}.scope_selectors.repository`, repoDecorations);
  return { id, priority, disabled, action: 'retain', template, params, tag_selectors: tagSelectors, scope_selectors: { repository } };
}

/** A rule's text once `id` is ignored, in fixed key order: Harbor's duplicate test. */
function ruleKey(r: RetentionRule): string {
  return ruleText({ ...r, id: 0 });
}

function selectorText(s: RetentionSelector): RetentionSelector {
  return { kind: s.kind, decoration: s.decoration, pattern: s.pattern, extras: s.extras };
}

function ruleText(r: RetentionRule): string {
  return JSON.stringify(ruleObject(r));
}

function ruleObject(r: RetentionRule): RetentionRule {
  return {
    id: r.id,
    priority: r.priority,
    disabled: r.disabled,
    action: r.action,
    template: r.template,
    params: { ...r.params },
    tag_selectors: r.tag_selectors.map(selectorText),
    scope_selectors: { repository: r.scope_selectors.repository.map(selectorText) },
  };
}

/** The parts a body and the stored text share: `algorithm`, `rules`, and Wharf's `summary_event`. */
function specParts(o: Record<string, unknown>): { rules: RetentionRule[]; summary_event: boolean } {
  const algorithm = o.algorithm ?? 'or';
  if (algorithm !== 'or') {
    throw fail('BAD_REQUEST', `algorithm ${typeof algorithm === 'string' ? `"${algorithm}"` : 'of this type'} is not supported: only "or"`);
  }
  const list = o.rules ?? [];
  if (!Array.isArray(list)) throw fail('BAD_REQUEST', 'rules must be an array');
  if (list.length > maxRules) throw fail('BAD_REQUEST', `only ${maxRules} rules are allowed at most`);
  const rules = list.map((r: unknown, i) => rule(r, i));
  // Harbor names the later rule first: `rule <later index> is conflict with rule <earlier index>`.
  // Rules are compared once validated, so a parameter sent as "10" equals one sent as 10.
  const seen = new Map<string, number>();
  rules.forEach((r, i) => {
    const key = ruleKey(r);
    const earlier = seen.get(key);
    if (earlier !== undefined) throw fail('CONFLICT', `rule ${i} is conflict with rule ${earlier}`);
    seen.set(key, i);
  });
  const summary = o.summary_event ?? false;
  if (typeof summary !== 'boolean') throw fail('BAD_REQUEST', 'summary_event must be true or false');
  return { rules, summary_event: summary };
}

/**
 * Validates a POST or PUT body (Harbor's RetentionPolicy). Returns the project id from
 * `scope.ref` (whether the project exists is the service's check, with the same message) and the
 * spec. The body's `id` and `trigger.settings.next_scheduled_time` are ignored; the cron syntax is
 * the service's check. A missing `rules` is an empty list and a missing `trigger` no schedule (Harbor
 * accepts both).
 */
export function parsePolicy(body: unknown): { projectId: number; spec: RetentionSpec } {
  if (!isJsonObject(body)) throw fail('BAD_REQUEST', 'the request body must be a RetentionPolicy object');
  const scope = body.scope;
  if (!isJsonObject(scope)) throw fail('BAD_REQUEST', 'scope must be an object: {"level":"project","ref":<project id>}');
  if (scope.level !== 'project') {
    throw fail('BAD_REQUEST', `scope ${typeof scope.level === 'string' ? scope.level : JSON.stringify(scope.level ?? null)} is not support`);
  }
  const ref = scope.ref;
  if (typeof ref !== 'number' || !Number.isSafeInteger(ref) || ref <= 0) {
    throw fail('BAD_REQUEST', `invalid Project id ${typeof ref === 'number' ? ref : JSON.stringify(ref ?? null)}`);
  }
  const parts = specParts(body);
  let cron = '';
  const trigger = body.trigger ?? null;
  if (trigger !== null) {
    if (!isJsonObject(trigger)) throw fail('BAD_REQUEST', 'trigger must be an object');
    const kind = trigger.kind ?? 'Schedule';
    if (kind !== 'Schedule') throw fail('BAD_REQUEST', 'trigger.kind must be "Schedule"');
    const settings = trigger.settings ?? null;
    if (settings !== null) {
      if (!isJsonObject(settings)) throw fail('BAD_REQUEST', 'trigger.settings must be an object');
      const c = settings.cron ?? '';
      if (typeof c !== 'string') throw fail('BAD_REQUEST', 'cron must be a string');
      cron = c;
    }
  }
  return { projectId: ref, spec: { algorithm: 'or', rules: parts.rules, cron, summary_event: parts.summary_event } };
}

/** The stored text of a spec: fixed key order. */
export function policyText(spec: RetentionSpec): string {
  return `{"algorithm":"or","rules":[${spec.rules.map(ruleText).join(',')}],"cron":${JSON.stringify(spec.cron)},"summary_event":${spec.summary_event}}`;
}

/** Reads a stored spec (written by {@link policyText}); validates it as a body is validated. */
export function readPolicy(text: string): RetentionSpec {
  const v: unknown = JSON.parse(text);
  if (!isJsonObject(v)) throw fail('BAD_REQUEST', 'a stored retention policy must be a JSON object');
  const parts = specParts(v);
  if (typeof v.cron !== 'string') throw fail('BAD_REQUEST', 'cron must be a string');
  return { algorithm: 'or', rules: parts.rules, cron: v.cron, summary_event: parts.summary_event };
}

/** RFC 3339 in UTC with whole seconds, as Harbor shows times (`2026-08-22T00:00:00Z`). */
function utcSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * Harbor's wire shape of a policy. `next_scheduled_time` appears only when the service knows the
 * next run (a policy with a cron).
 */
export function policyView(p: { id: number; projectId: number; spec: RetentionSpec; nextRunMs: number | null }): Record<string, unknown> {
  const settings: Record<string, unknown> = { cron: p.spec.cron };
  if (p.nextRunMs !== null) settings.next_scheduled_time = utcSeconds(p.nextRunMs);
  return {
    id: p.id,
    algorithm: p.spec.algorithm,
    rules: p.spec.rules.map(ruleObject),
    trigger: { kind: 'Schedule', settings, references: {} },
    scope: { level: 'project', ref: p.projectId },
    summary_event: p.spec.summary_event,
  };
}

/** `GET /retentions/metadatas`: the five advertised templates, then the selector kinds. */
export const retentionMetadata: Record<string, unknown> = {
  templates: Object.entries(templates).flatMap(([id, facts]) =>
    facts.display === null
      ? []
      : [{ rule_template: id, display_text: facts.display.text, action: 'retain', params: facts.param === null || facts.display.unit === null ? [] : [{ type: 'int', unit: facts.display.unit, required: true }] }],
  ),
  scope_selectors: [{ display_text: 'Repositories', kind: 'doublestar', decorations: [...repoDecorations] }],
  tag_selectors: [{ display_text: 'Tags', kind: 'doublestar', decorations: [...tagDecorations] }],
};

/** A rule as TAG_RETENTION's `retention_rule[]` shows it; `params` is left out when empty. */
export function eventRule(r: RetentionRule): Record<string, unknown> {
  const out: Record<string, unknown> = { template: r.template };
  if (Object.keys(r.params).length > 0) out.params = { ...r.params };
  out.tag_selectors = r.tag_selectors.map(selectorText);
  out.scope_selectors = { repository: r.scope_selectors.repository.map(selectorText) };
  return out;
}
