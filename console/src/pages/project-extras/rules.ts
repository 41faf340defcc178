/**
 * Pure helpers of the tag strategy and robot pages (unit-tested): retention rules from the
 * dialog's fields and back, the sentence a rule reads as, the policy body, cron presets,
 * immutability rules, and robot permissions and expiry.
 */

export interface Selector {
  kind: string;
  decoration: string;
  pattern: string;
  extras?: string;
}

/** Harbor's RetentionRule. */
export interface RetentionRule {
  id?: number;
  priority?: number;
  disabled: boolean;
  action: string;
  template: string;
  params: Record<string, unknown>;
  tag_selectors: Selector[];
  scope_selectors: { repository: Selector[] };
}

/** Harbor's RetentionPolicy. */
export interface RetentionPolicy {
  id?: number;
  algorithm: string;
  rules: RetentionRule[];
  trigger: { kind: string; settings: { cron?: string; next_scheduled_time?: string }; references?: unknown };
  scope: { level: string; ref: number };
  summary_event?: boolean;
}

/** GET /retentions/metadatas (the parts the console uses). */
export interface RetentionMetadata {
  templates: { rule_template: string; display_text: string; action: string; params: { type: string; unit: string; required: boolean }[] }[];
  scope_selectors: { display_text: string; kind: string; decorations: string[] }[];
  tag_selectors: { display_text: string; kind: string; decorations: string[] }[];
}

/** The retention rule dialog's fields. */
export interface RetentionRuleForm {
  repoDecoration: 'repoMatches' | 'repoExcludes';
  repoPattern: string;
  template: string;
  /** The template's count or days, as typed. */
  param: string;
  tagDecoration: 'matches' | 'excludes';
  tagPattern: string;
  untagged: boolean;
}

export function emptyRuleForm(): RetentionRuleForm {
  return { repoDecoration: 'repoMatches', repoPattern: '**', template: 'latestPushedK', param: '10', tagDecoration: 'matches', tagPattern: '**', untagged: true };
}

/** Whether a template takes a number (all but `always`). */
export function templateTakesParam(meta: RetentionMetadata | undefined, template: string): boolean {
  const t = meta?.templates.find((x) => x.rule_template === template);
  return t ? t.params.length > 0 : template !== 'always';
}

/** The rule the form describes; throws with a message for the user when the number is not a whole number ≥ 0. */
export function ruleFromForm(f: RetentionRuleForm, meta?: RetentionMetadata): RetentionRule {
  const params: Record<string, unknown> = {};
  if (templateTakesParam(meta, f.template)) {
    const n = Number(f.param);
    if (f.param.trim() === '' || !Number.isInteger(n) || n < 0) throw new Error('The count or number of days must be a whole number (0 or more).');
    params[f.template] = n;
  }
  return {
    disabled: false,
    action: 'retain',
    template: f.template,
    params,
    tag_selectors: [{ kind: 'doublestar', decoration: f.tagDecoration, pattern: f.tagPattern.trim() || '**', extras: JSON.stringify({ untagged: f.untagged }) }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: f.repoDecoration, pattern: f.repoPattern.trim() || '**' }] },
  };
}

/** The form of a stored rule (for editing). */
export function formFromRule(r: RetentionRule): RetentionRuleForm {
  const repo = r.scope_selectors.repository[0];
  const tag = r.tag_selectors[0];
  const p = r.params[r.template];
  return {
    repoDecoration: repo?.decoration === 'repoExcludes' ? 'repoExcludes' : 'repoMatches',
    repoPattern: repo?.pattern ?? '**',
    template: r.template,
    param: p === undefined || p === null ? '' : String(p),
    tagDecoration: tag?.decoration === 'excludes' ? 'excludes' : 'matches',
    tagPattern: tag?.pattern ?? '**',
    untagged: untaggedOf(tag),
  };
}

/** A tag selector's `untagged` extra (a JSON string in Harbor's API). */
export function untaggedOf(s: Selector | undefined): boolean {
  if (!s?.extras) return false;
  try {
    const v = JSON.parse(s.extras) as { untagged?: unknown };
    return v.untagged === true;
  } catch {
    return false;
  }
}

/** The sentence a template reads as, with its number put in. */
export function templateText(meta: RetentionMetadata | undefined, template: string, param: unknown): string {
  const fallback: Record<string, string> = {
    latestPushedK: 'the most recently pushed # artifacts',
    latestPulledN: 'the most recently pulled # artifacts',
    nDaysSinceLastPush: 'pushed within the last # days',
    nDaysSinceLastPull: 'pulled within the last # days',
    always: 'always',
    latestActiveK: 'the most recently active # artifacts',
    lastXDays: 'pushed or pulled within the last # days',
  };
  const text = meta?.templates.find((t) => t.rule_template === template)?.display_text ?? fallback[template] ?? template;
  return text.replace('#', param === undefined || param === null ? '?' : String(param));
}

/** How a retention rule reads in the list: "For the repositories matching **, retain the most recently pushed 10 artifacts with tags matching ** (untagged included)". */
export function retentionRuleText(r: RetentionRule, meta?: RetentionMetadata): string {
  const repo = r.scope_selectors.repository[0];
  const tag = r.tag_selectors[0];
  const repoText = `${repo?.decoration === 'repoExcludes' ? 'excluding' : 'matching'} ${repo?.pattern || '**'}`;
  const tagText = `${tag?.decoration === 'excludes' ? 'excluding' : 'matching'} ${tag?.pattern || '**'}`;
  const untagged = untaggedOf(tag);
  const verb = r.template === 'always' ? 'always retain' : `retain ${templateText(meta, r.template, r.params[r.template])}`;
  const subject = r.template === 'always' ? ' the artifacts' : '';
  return `For the repositories ${repoText}, ${verb}${subject} with tags ${tagText} (untagged ${tag?.decoration === 'excludes' ? (untagged ? 'excluded' : 'included') : untagged ? 'included' : 'excluded'})${r.disabled ? ' — disabled' : ''}`;
}

/** A policy for project `projectId` with these rules and cron ('' = no schedule). */
export function retentionPolicy(projectId: number, rules: RetentionRule[], cron: string, base?: RetentionPolicy): RetentionPolicy {
  return {
    ...(base ?? {}),
    algorithm: 'or',
    rules,
    trigger: { kind: 'Schedule', settings: { cron }, references: base?.trigger.references ?? {} },
    scope: { level: 'project', ref: projectId },
  };
}

/** Schedule presets Harbor's UI offers (six-field cron, seconds first, UTC). */
export const schedulePresets: { label: string; cron: string }[] = [
  { label: 'None', cron: '' },
  { label: 'Hourly', cron: '0 0 * * * *' },
  { label: 'Daily', cron: '0 0 0 * * *' },
  { label: 'Weekly', cron: '0 0 0 * * 0' },
];

/** The preset label of a cron, or 'Custom'. */
export function scheduleLabel(cron: string | undefined): string {
  return schedulePresets.find((p) => p.cron === (cron ?? ''))?.label ?? 'Custom';
}

/** Harbor's ImmutableRule. */
export interface ImmutableRule {
  id?: number;
  project_id?: number;
  disabled: boolean;
  priority?: number;
  action?: string;
  template?: string;
  tag_selectors: Selector[];
  scope_selectors: { repository: Selector[] };
}

/** An immutability rule from the dialog's fields. */
export function immutableRule(repoDecoration: 'repoMatches' | 'repoExcludes', repoPattern: string, tagDecoration: 'matches' | 'excludes', tagPattern: string): ImmutableRule {
  return {
    disabled: false,
    action: 'immutable',
    template: 'immutable_template',
    tag_selectors: [{ kind: 'doublestar', decoration: tagDecoration, pattern: tagPattern.trim() || '**' }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: repoDecoration, pattern: repoPattern.trim() || '**' }] },
  };
}

/** How an immutability rule reads: "For the repositories matching **, tags matching v* are immutable". */
export function immutableRuleText(r: ImmutableRule): string {
  const repo = r.scope_selectors.repository[0];
  const tag = r.tag_selectors[0];
  const excl = (d: string | undefined) => d === 'repoExcludes' || d === 'excludes';
  return `For the repositories ${excl(repo?.decoration) ? 'excluding' : 'matching'} ${repo?.pattern || '**'}, tags ${excl(tag?.decoration) ? 'excluding' : 'matching'} ${tag?.pattern || '**'} are immutable`;
}

/** Resources and the actions a robot may be granted (the names Wharf accepts; docs/access.md). */
export const robotResources: { resource: string; actions: string[] }[] = [
  { resource: 'repository', actions: ['pull', 'push', 'delete', 'list', 'read', 'create', 'update'] },
  { resource: 'artifact', actions: ['read', 'delete', 'list', 'create'] },
  { resource: 'tag', actions: ['create', 'delete', 'list'] },
  { resource: 'artifact-label', actions: ['create', 'delete'] },
  { resource: 'artifact-addition', actions: ['read'] },
  { resource: 'accessory', actions: ['list'] },
  { resource: 'scan', actions: ['create', 'read', 'stop'] },
  { resource: 'label', actions: ['create', 'read', 'update', 'delete', 'list'] },
  { resource: 'notification-policy', actions: ['create', 'read', 'update', 'delete', 'list'] },
  { resource: 'member', actions: ['create', 'read', 'update', 'delete', 'list'] },
  { resource: 'robot', actions: ['create', 'read', 'update', 'delete', 'list'] },
  { resource: 'log', actions: ['list'] },
  { resource: 'project', actions: ['read', 'update', 'delete'] },
  { resource: 'quota', actions: ['read'] },
];

export interface Access {
  resource: string;
  action: string;
  effect?: string;
}

export interface RobotPermission {
  kind: string;
  namespace: string;
  access: Access[];
}

/** Harbor's Robot. */
export interface Robot {
  id: number;
  name: string;
  description: string;
  level: 'project' | 'system';
  duration: number;
  editable?: boolean;
  disable: boolean;
  expires_at: number;
  permissions: RobotPermission[];
  creation_time: string;
  update_time?: string;
}

/** `resource:action` keys of a permission set. */
export function accessKey(a: Access): string {
  return `${a.resource}:${a.action}`;
}

/** The access list of a set of `resource:action` keys, in the table's order. */
export function accessFromKeys(keys: ReadonlySet<string>): Access[] {
  const out: Access[] = [];
  for (const r of robotResources) for (const a of r.actions) if (keys.has(`${r.resource}:${a}`)) out.push({ resource: r.resource, action: a });
  return out;
}

/** Robot names: lower-case letters and digits separated by `.`, `_` or `-` (Wharf's rule); an error message or null. */
export function robotNameProblem(name: string): string | null {
  if (name === '') return 'Name is required.';
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(name)) return 'Use lower-case letters and digits, separated by ".", "_" or "-".';
  return null;
}

/** Days as typed (or "never") → Harbor's duration (`-1` never). Throws a message for the user on bad input. */
export function robotDuration(never: boolean, days: string): number {
  if (never) return -1;
  const n = Number(days);
  if (days.trim() === '' || !Number.isInteger(n) || n < 1) throw new Error('Expiration must be a whole number of days (1 or more), or never.');
  return n;
}

/** The body of POST /robots. `namespaces` are project names (or `*`) the access applies to. */
export function robotCreateBody(level: 'project' | 'system', name: string, description: string, duration: number, namespaces: string[], access: Access[]): Record<string, unknown> {
  return {
    name,
    description,
    level,
    duration,
    disable: false,
    permissions: namespaces.map((ns) => ({ kind: 'project', namespace: ns, access })),
  };
}

/** When a robot expires, for the list: "Never", "Expired" or a local time. */
export function robotExpiry(expiresAt: number, now = Date.now()): string {
  if (expiresAt === -1) return 'Never';
  if (expiresAt * 1000 <= now) return 'Expired';
  return new Date(expiresAt * 1000).toLocaleString();
}

/** A short summary of a robot's permissions: "repository:pull, repository:push" per namespace. */
export function permissionSummary(perms: RobotPermission[]): string {
  return perms.map((p) => `${p.namespace}: ${p.access.map(accessKey).join(', ') || 'none'}`).join('; ');
}

/** A time span between two API times: "250 ms", "1.2 s", "3 min"; '' when either is unset. */
export function duration(start: string | null | undefined, end: string | null | undefined): string {
  if (!start || !end || start.startsWith('0001') || end.startsWith('0001')) return '';
  const ms = new Date(end).getTime() - new Date(start).getTime();
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  return `${Math.round(ms / 60_000)} min`;
}
