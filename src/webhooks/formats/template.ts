/**
 * The Template payload format (Wharf): an http target's own body, written in Liquid (liquidjs)
 * and stored in the target's `options` (`template`, `template_content_type`).
 *
 * The sandbox: templates read only the variables given here (`event`, `payload`, `policy`,
 * `wharf`; own properties only, so no `constructor` or prototype members), there is no file
 * system (`include`, `render` and `layout` are refused when the template is parsed, and the
 * loader's file system refuses every read), unknown filters are parse errors, and a render is
 * bounded in time, in allocations and in output size (templateLimits). Templates are parsed
 * when a policy is saved (`checkTemplate`), so a syntax error is a 400, not a failed delivery.
 * When the content type is JSON (`application/json` or `*+json`) the output must parse as JSON;
 * the `json` filter writes any value as JSON text, strings escaped.
 *
 * The variables (docs/webhook-formats.md, "Template"): `event` (Wharf's event in snake_case,
 * with the same facts for every type where it has them), `payload` (Harbor's Default payload
 * object), `policy` (id, name) and `wharf` (external_url, host).
 */
import type { FS, Liquid, Template, TagToken, TopLevelToken } from 'liquidjs';
import { lazyModule } from '../../platform/index.ts';
import type { WharfEvent } from '../../events/index.ts';
import { fail } from '../../domain/index.ts';
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import { defaultPayload } from './default.ts';
import { externalBase, externalHost, repoShortName, rfc3339Seconds, summarize, unixSeconds, type AnyEventType } from './common.ts';

/** The sandbox's limits. */
export const templateLimits = {
  /** Longest template source, in characters (checked when the policy is saved). */
  maxTemplateLength: 64 * 1024,
  /** Longest time one render may take, ms. */
  renderMs: 100,
  /** liquidjs' allocation budget per render (array and string building). */
  memory: 10_000_000,
  /** Largest rendered body, bytes. */
  maxOutputBytes: 1024 * 1024,
} as const;

/** The Content-Type of a template's body when the target sets none. */
export const defaultTemplateContentType = 'application/json';

/** Every event type has a Template rendering (the template decides what to say). */
export function templateSupports(_eventType: AnyEventType): boolean {
  return true;
}

/** A file system that has no files: the loader's every lookup fails. */
const noFiles: FS = {
  exists: () => Promise.resolve(false),
  existsSync: () => false,
  readFile: (file) => Promise.reject(new Error(`webhook templates cannot read files (${file})`)),
  readFileSync: (file) => {
    throw new Error(`webhook templates cannot read files (${file})`);
  },
  resolve: (_dir, file) => file,
};

/** liquidjs, loaded by the first template parsed (most installations never use one). */
const liquidjs = lazyModule<typeof import('liquidjs')>('liquidjs');
let engine: Liquid | undefined;

/** The sandboxed Liquid engine, made on first use. */
function liquid(): Liquid {
  if (engine) return engine;
  const { Liquid, Tag } = liquidjs();
  const made = new Liquid({
    fs: noFiles,
    relativeReference: false,
    cache: false,
    ownPropertyOnly: true,
    strictFilters: true,
    strictVariables: false,
    timezoneOffset: 0,
    parseLimit: templateLimits.maxTemplateLength,
    renderLimit: templateLimits.renderMs,
    memoryLimit: templateLimits.memory,
  });
  for (const name of ['include', 'render', 'layout']) {
    made.registerTag(
      name,
      class extends Tag {
        constructor(token: TagToken, remain: TopLevelToken[], engine: Liquid) {
          super(token, remain, engine);
          throw new Error(`the ${name} tag is not available in webhook templates (they cannot read files)`);
        }
        *render(): Generator<unknown, void, unknown> {}
      },
    );
  }
  // liquidjs' json filter writes nothing for a missing value, which breaks the JSON around it; here it is `null`.
  made.registerFilter('json', (value: unknown, space: unknown = 0) => JSON.stringify(value ?? null, null, typeof space === 'number' ? Math.min(Math.max(space, 0), 10) : 0));
  engine = made;
  return made;
}

/** Parsed templates by source, most recent last (renders happen per event and target). */
const parsed = new Map<string, Template[]>();
const parsedCacheSize = 100;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Parses a template (cached); BAD_REQUEST with liquidjs' message (it names the line and column). */
function parse(source: string): Template[] {
  const hit = parsed.get(source);
  if (hit) {
    parsed.delete(source);
    parsed.set(source, hit);
    return hit;
  }
  if (source.length > templateLimits.maxTemplateLength) throw fail('BAD_REQUEST', `the template is longer than ${templateLimits.maxTemplateLength} characters`);
  let tpl: Template[];
  try {
    tpl = liquid().parse(source);
  } catch (err) {
    throw fail('BAD_REQUEST', `invalid template: ${errorText(err)}`);
  }
  parsed.set(source, tpl);
  if (parsed.size > parsedCacheSize) {
    const oldest = parsed.keys().next().value;
    if (oldest !== undefined) parsed.delete(oldest);
  }
  return tpl;
}

/** Checks a template when a policy is saved: BAD_REQUEST when it is empty, too long or does not parse. */
export function checkTemplate(source: string): void {
  if (source.trim() === '') throw fail('BAD_REQUEST', 'the template is empty');
  parse(source);
}

/** True for a JSON media type: `application/json` or a `+json` suffix (parameters ignored). */
export function isJsonContentType(contentType: string): boolean {
  const mt = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return mt === 'application/json' || mt.endsWith('+json');
}

/** Renders a template over `vars` within the limits; BAD_REQUEST with the reason otherwise. */
export function renderTemplate(source: string, vars: Record<string, unknown>): string {
  const tpl = parse(source);
  let out: unknown;
  try {
    out = liquid().renderSync(tpl, vars);
  } catch (err) {
    throw fail('BAD_REQUEST', `the template failed to render: ${errorText(err)}`);
  }
  const body = typeof out === 'string' ? out : String(out);
  if (Buffer.byteLength(body) > templateLimits.maxOutputBytes) {
    throw fail('BAD_REQUEST', `the template's output is larger than ${templateLimits.maxOutputBytes} bytes`);
  }
  return body;
}

/** The template options of a target (`options.template`, `options.template_content_type`). */
export function templateOptions(options: Record<string, unknown>): { template: string; contentType: string } {
  const template = options['template'];
  if (typeof template !== 'string' || template === '') throw fail('BAD_REQUEST', 'the target has no template');
  const ct = options['template_content_type'];
  return { template, contentType: typeof ct === 'string' && ct !== '' ? ct : defaultTemplateContentType };
}

/** `event` of the template variables: the event's facts in snake_case (docs/webhook-formats.md). */
export function templateEvent(event: WharfEvent, ctx: FormatContext): Record<string, unknown> {
  const s = summarize(event, ctx.externalUrl);
  const project = 'project' in event && event.project ? { id: event.project.id, name: event.project.name, public: event.project.public } : null;
  const repo = 'repository' in event && event.repository ? event.repository : null;
  const artifact = 'artifact' in event && event.artifact ? event.artifact : null;
  const scan =
    event.type === 'SCANNING_COMPLETED' || event.type === 'SCANNING_FAILED' || event.type === 'SCANNING_STOPPED'
      ? {
          type: s.scan?.scanType ?? event.scanType,
          status: s.scan?.status ?? null,
          severity: s.scan?.severity ?? null,
          total: s.scan?.total ?? null,
          fixable: s.scan?.fixable ?? null,
          counts: s.scan?.counts ?? null,
          scanner: s.scan?.scanner ?? null,
          sbom_digest: s.scan?.sbomDigest ?? null,
          error: s.scan?.error ?? null,
          platform: s.scan?.platform ?? null,
          parent_digest: s.scan?.parentDigest ?? null,
          overview: event.overview,
        }
      : null;
  return {
    id: event.id,
    type: event.type,
    title: s.label,
    occur_at: unixSeconds(event.occurAt),
    occur_time: rfc3339Seconds(event.occurAt),
    operator: event.operator,
    project,
    repository:
      repo === null
        ? null
        : {
            id: repo.id,
            name: repo.name,
            short_name: repoShortName(repo.name),
            namespace: project?.name ?? '',
            creation_time: repo.creationTime === null ? null : rfc3339Seconds(repo.creationTime),
          },
    artifact:
      artifact === null
        ? null
        : {
            digest: artifact.digest,
            media_type: artifact.mediaType,
            artifact_type: artifact.artifactType,
            size: artifact.size,
            tag: artifact.tag,
            tags: artifact.tags,
          },
    tag: s.tag,
    digest: s.digest,
    image: s.image,
    link: s.link,
    detail: s.detail,
    scan,
    quota: event.type === 'QUOTA_EXCEED' || event.type === 'QUOTA_WARNING' ? { details: event.details } : null,
    replication: event.type === 'REPLICATION' ? event.replication : null,
    retention: event.type === 'TAG_RETENTION' ? event.retention : null,
    label: event.type === 'ARTIFACT_LABELED' ? event.label : null,
  };
}

/** Every variable a template sees. */
export function templateVariables(event: WharfEvent, ctx: FormatContext): Record<string, unknown> {
  // The Default payload through JSON: plain objects, no undefined members.
  const payload: unknown = JSON.parse(JSON.stringify(defaultPayload(event, ctx)));
  return {
    event: templateEvent(event, ctx),
    payload,
    policy: { id: ctx.policy.id, name: ctx.policy.name },
    wharf: { external_url: externalBase(ctx.externalUrl), host: externalHost(ctx.externalUrl) },
  };
}

/** The Template format: the target's template rendered over the event; JSON checked when the content type is JSON. */
export const formatTemplate: PayloadFormatter = (event, ctx): RenderedPayload => {
  const { template, contentType } = templateOptions(ctx.target.options);
  const body = renderTemplate(template, templateVariables(event, ctx));
  if (isJsonContentType(contentType)) {
    try {
      JSON.parse(body);
    } catch (err) {
      throw fail('BAD_REQUEST', `the template's output is not valid JSON (Content-Type ${contentType}): ${errorText(err)}; write string values with the json filter, e.g. {{ event.tag | json }}`);
    }
  }
  return { body, headers: { 'Content-Type': contentType } };
};
