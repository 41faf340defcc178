/**
 * Parsing and matching Harbor's PreheatPolicy (pure). `filters`, `trigger` and `extra_attrs` are
 * JSON texts inside the JSON body, as in Harbor:
 *   filters     [{"type":"repository","value":"**"},{"type":"tag","value":"v*"},{"type":"label","value":"a,b"}]
 *   trigger     {"type":"manual"|"scheduled"|"event_based","trigger_setting":{"cron":"0 0 * * * *"}}
 *   extra_attrs {"scope":"single_seed_peer"|"all_seed_peers"|"all_peers","cluster_ids":[1]}
 * Repository and tag filters are doublestar patterns (src/domain/glob.ts, linear time), the
 * repository matched without its project; a label filter names labels, comma-separated, that an
 * artifact must all carry. As in Harbor, a policy's own signature and vulnerability filters are
 * replaced by the project's settings when it is enforced ({@link projectSecurityFilters}).
 */
import { fail, globMatch, globPatternProblem } from '../domain/index.ts';
import { cronProblem } from '../jobs/index.ts';
import type { DragonflyAttrs } from './providers.ts';

/** Harbor's filter types. */
export type FilterType = 'repository' | 'tag' | 'label' | 'signature' | 'vulnerability';
/** One validated filter. */
export type PolicyFilter = { type: 'repository' | 'tag' | 'label'; value: string } | { type: 'signature'; value: boolean } | { type: 'vulnerability'; value: number };
/** Harbor's trigger types. */
export type TriggerType = 'manual' | 'scheduled' | 'event_based';
/** A validated trigger. */
export interface PolicyTrigger {
  type: TriggerType;
  cron: string;
}

/** The texts of a policy body, validated. */
export interface PolicySpec {
  name: string;
  description: string;
  providerId: number;
  filters: PolicyFilter[];
  filtersText: string;
  trigger: PolicyTrigger;
  triggerText: string;
  enabled: boolean;
  extraAttrs: DragonflyAttrs;
  extraAttrsText: string;
}

const namePattern = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const scopes = ['single_seed_peer', 'all_seed_peers', 'all_peers'];
type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function jsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw fail('BAD_REQUEST', `invalid ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  return typeof v;
}

/** Harbor's filters text; BAD_REQUEST with Harbor's messages for what its filter building refuses. */
export function parseFilters(text: string | undefined): PolicyFilter[] {
  if (text === undefined || text === '') throw fail('BAD_REQUEST', 'missing filters in preheat policy schema');
  const v = jsonText(text, 'filters');
  if (!Array.isArray(v)) throw fail('BAD_REQUEST', 'invalid filters: a JSON array of {type, value} is expected');
  if (v.length > 16) throw fail('BAD_REQUEST', 'invalid filters: at most 16 filters');
  return v.map((f: unknown): PolicyFilter => {
    if (!isObj(f)) throw fail('BAD_REQUEST', 'nil policy filter object');
    const type = f.type;
    const value = f.value;
    if (typeof type !== 'string') throw fail('BAD_REQUEST', 'unknown filter type: ');
    if (value === undefined || value === null) throw fail('BAD_REQUEST', `pattern value is missing for filter: ${type}`);
    switch (type) {
      case 'repository':
      case 'tag':
      case 'label': {
        if (typeof value !== 'string') throw fail('BAD_REQUEST', `invalid string pattern format(${typeName(value)}) for filter: ${type}`);
        if (type !== 'label') {
          const problem = globPatternProblem(value);
          if (problem) throw fail('BAD_REQUEST', `the ${type} filter ${problem}`);
        }
        return { type, value };
      }
      case 'signature':
        if (typeof value !== 'boolean') throw fail('BAD_REQUEST', `invalid boolean pattern format(${typeName(value)}) for filter: ${type}`);
        return { type, value };
      case 'vulnerability':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw fail('BAD_REQUEST', `invalid integer pattern format(${typeName(value)}) for filter: ${type}`);
        return { type, value };
      default:
        throw fail('BAD_REQUEST', `unknown filter type: ${type}`);
    }
  });
}

/** Harbor's trigger text. */
export function parseTrigger(text: string | undefined): PolicyTrigger {
  if (text === undefined || text === '') throw fail('BAD_REQUEST', 'missing trigger settings in preheat policy schema');
  const v = jsonText(text, 'trigger');
  if (!isObj(v)) throw fail('BAD_REQUEST', 'invalid trigger: a JSON object is expected');
  const type = v.type;
  if (type !== 'manual' && type !== 'scheduled' && type !== 'event_based') throw fail('BAD_REQUEST', `invalid trigger type: ${String(type)}: manual, scheduled or event_based`);
  const setting = v.trigger_setting;
  const cron = isObj(setting) && typeof setting.cron === 'string' ? setting.cron : '';
  if (type === 'scheduled' && cron !== '') {
    const problem = cronProblem(cron);
    if (problem) throw fail('BAD_REQUEST', `invalid cron string for scheduled preheat: ${cron}, error: ${problem}`);
  }
  return { type, cron: type === 'scheduled' ? cron : '' };
}

/** Harbor's extra_attrs text (Dragonfly's scope and cluster ids); '' is none. */
export function parseExtraAttrs(text: string | undefined): DragonflyAttrs {
  if (text === undefined || text === '') return {};
  const v = jsonText(text, 'extra_attrs');
  if (!isObj(v)) throw fail('BAD_REQUEST', 'invalid extra_attrs: a JSON object is expected');
  const out: DragonflyAttrs = {};
  if (v.scope !== undefined && v.scope !== null && v.scope !== '') {
    if (typeof v.scope !== 'string' || !scopes.includes(v.scope)) throw fail('BAD_REQUEST', `invalid scope: ${String(v.scope)}`);
    out.scope = v.scope;
  }
  if (v.cluster_ids !== undefined && v.cluster_ids !== null) {
    if (!Array.isArray(v.cluster_ids) || !v.cluster_ids.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) throw fail('BAD_REQUEST', 'invalid cluster_ids: a list of cluster ids is expected');
    out.clusterIds = v.cluster_ids.map(Number);
  }
  return out;
}

function str(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `${key} must be a string`);
  return v;
}

/** A PreheatPolicy body, validated (the provider's existence is the caller's check). */
export function parsePolicy(body: unknown): PolicySpec {
  if (!isObj(body)) throw fail('BAD_REQUEST', 'policy body is required');
  const name = str(body, 'name') ?? '';
  if (!namePattern.test(name)) throw fail('BAD_REQUEST', `name ${name} is invalid`);
  const providerId = body.provider_id;
  if (typeof providerId !== 'number' || !Number.isSafeInteger(providerId) || providerId <= 0) throw fail('BAD_REQUEST', 'provider_id must be the id of a preheat instance');
  const enabled = body.enabled;
  if (enabled !== undefined && enabled !== null && typeof enabled !== 'boolean') throw fail('BAD_REQUEST', 'enabled must be a boolean');
  const filtersText = str(body, 'filters');
  const triggerText = str(body, 'trigger');
  const extraAttrsText = str(body, 'extra_attrs') ?? '';
  return {
    name,
    description: str(body, 'description') ?? '',
    providerId,
    filters: parseFilters(filtersText),
    filtersText: filtersText ?? '',
    trigger: parseTrigger(triggerText),
    triggerText: triggerText ?? '',
    enabled: enabled === true,
    extraAttrs: parseExtraAttrs(extraAttrsText),
    extraAttrsText,
  };
}

const severityCodes = new Map([
  ['none', 0],
  ['unknown', 0],
  ['negligible', 1],
  ['low', 2],
  ['medium', 3],
  ['high', 4],
  ['critical', 5],
]);

/** Harbor's severity codes of a scan's highest severity; 99 without a successful scan (null) or for an unknown name. */
export function severityCode(severity: string | null): number {
  return severityCodes.get((severity ?? '').toLowerCase()) ?? 99;
}

/** One tag of an image of the project: what the filters look at. */
export interface Candidate {
  /** The repository's full name (`project/repo`). */
  repository: string;
  /** The repository without its project, as the repository filter sees it. */
  shortName: string;
  tag: string;
  digest: string;
  labels: string[];
  /** Harbor's severity code of the artifact's scan (99 without a successful scan). */
  severity: number;
  signed: boolean;
}

/** The project settings Harbor enforces instead of the policy's signature and vulnerability filters. */
export interface ProjectSecurity {
  /** `enable_content_trust` or `enable_content_trust_cosign` is "true". */
  contentTrust: boolean;
  /** `prevent_vul` is "true": `severity` names the threshold. */
  preventVul: boolean;
  severity: string;
}

/** The policy's filters with its signature and vulnerability filters replaced by the project's settings (Harbor's override). */
export function projectSecurityFilters(filters: readonly PolicyFilter[], project: ProjectSecurity): PolicyFilter[] {
  const out: PolicyFilter[] = filters.filter((f) => f.type !== 'signature' && f.type !== 'vulnerability');
  if (project.contentTrust) out.push({ type: 'signature', value: true });
  if (project.preventVul && project.severity !== '') out.push({ type: 'vulnerability', value: severityCode(project.severity) });
  return out;
}

/** True when the candidate passes every filter (a vulnerability filter keeps severities below its code). */
export function candidateMatches(filters: readonly PolicyFilter[], c: Candidate): boolean {
  return filters.every((f) => {
    switch (f.type) {
      case 'repository':
        return globMatch(f.value, c.shortName);
      case 'tag':
        return globMatch(f.value, c.tag);
      case 'label':
        return f.value
          .split(',')
          .filter((l) => l !== '')
          .every((l) => c.labels.includes(l));
      case 'signature':
        return !f.value || c.signed;
      case 'vulnerability':
        return c.severity < f.value;
    }
  });
}
