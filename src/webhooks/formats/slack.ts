/**
 * Slack incoming-webhook messages in Block Kit. Harbor's Slack body is a text template that
 * leaves raw newlines inside JSON strings; Wharf's is real JSON (built as objects and encoded),
 * carries the same facts (event type, time, operator, the Default `event_data`) laid out to be
 * read, and stays within Slack's limits whatever the names and tag lists: at most 50 blocks,
 * 3000 characters per section text, 10 fields of 2000 characters, 150 for a header. Scan
 * events add the scan type, status and scanner as fields and the counts per severity
 * (Critical/High/Medium/Low/Unknown) or the failure reason as their detail line.
 */
import type { WharfEvent } from '../../events/index.ts';
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import { defaultEventData, platformsText } from './default.ts';
import { goJson, rfc3339Seconds, summarize, truncate, unixSeconds, type AnyEventType } from './common.ts';

/** Slack's documented limits that this format respects. */
export const slackLimits = {
  blocks: 50,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  headerText: 150,
  /** The top-level `text` (notification fallback); Slack truncates longer ones. */
  fallbackText: 3000,
} as const;

/** Every event type has a Slack rendering. */
export function slackSupports(_eventType: AnyEventType): boolean {
  return true;
}

/** Slack's three control characters in message text, escaped as Slack asks. */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * `prefix + escape(raw) + suffix` within `max` characters: the raw text is cut (with `…`) before
 * escaping, so an entity like `&amp;` is never split and the affixes are never cut.
 */
export function fitEscaped(raw: string, max: number, prefix = '', suffix = ''): string {
  const budget = max - prefix.length - suffix.length;
  if (budget < 1) return truncate(`${prefix}${suffix}`, max);
  let n = raw.length;
  for (;;) {
    const text = slackEscape(truncate(raw, n));
    if (text.length <= budget) return `${prefix}${text}${suffix}`;
    n -= Math.max(1, text.length - budget);
    if (n <= 0) return `${prefix}${suffix}`;
  }
}

type TextObject = { type: 'mrkdwn' | 'plain_text'; text: string };
type Block =
  | { type: 'header'; text: TextObject }
  | { type: 'section'; text?: TextObject; fields?: TextObject[] }
  | { type: 'context'; elements: TextObject[] };

function field(name: string, value: string): TextObject {
  return { type: 'mrkdwn', text: fitEscaped(value, slackLimits.fieldText, `*${name}*\n`) };
}

/** The Slack message as an object (what `body` encodes). */
export function slackMessage(event: WharfEvent, ctx: FormatContext): { text: string; blocks: Block[] } {
  const s = summarize(event, ctx.externalUrl);
  const subject = s.image ?? s.repository ?? s.project ?? '';
  const fields: TextObject[] = [];
  if (s.project !== null) fields.push(field('Project', s.project));
  if (s.repository !== null) fields.push(field('Repository', s.repository));
  if (s.tag !== null) fields.push(field('Tag', s.tag));
  if (event.type !== 'WEBHOOK_TARGET_DISABLED') fields.push(field('Operator', event.operator === '' ? '(anonymous)' : event.operator));
  if (s.tags.length > 1) fields.push(field('All tags', s.tags.join(', ')));
  const platforms = platformsText(event);
  if (platforms !== null) fields.push(field('Platforms', platforms));
  if (s.scan !== null) {
    fields.push(field('Scan type', s.scan.scanType));
    fields.push(field('Status', s.scan.status));
    if (s.scan.scanner !== null) fields.push(field('Scanner', s.scan.scanner));
    if (s.scan.platform !== null) fields.push(field('Platform', s.scan.platform));
    if (s.scan.parentDigest !== null) fields.push(field('Index', s.scan.parentDigest));
  }

  const lines: Block[] = [];
  lines.push({ type: 'header', text: { type: 'plain_text', text: truncate(s.label, slackLimits.headerText) } });
  lines.push({ type: 'section', fields: fields.slice(0, slackLimits.fields) });

  const facts: string[] = [];
  if (s.digest !== null) facts.push(`*Digest* \`${slackEscape(s.digest)}\``);
  if (s.image !== null) facts.push(`*Image* \`${slackEscape(s.image)}\``);
  if (s.link !== null) facts.push(`<${s.link}|Open in Wharf>`);
  const factText = facts.join('\n');
  if (s.detail !== null) {
    lines.push({ type: 'section', text: { type: 'mrkdwn', text: fitEscaped(s.detail, slackLimits.sectionText, '', factText ? `\n${factText}` : '') } });
  } else if (factText !== '') {
    // Digests, images and links are short and ASCII; the cap is belt and braces.
    lines.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(factText, slackLimits.sectionText) } });
  }

  const data = JSON.stringify(defaultEventData(event, ctx), null, 2);
  lines.push({ type: 'section', text: { type: 'mrkdwn', text: fitEscaped(data, slackLimits.sectionText, '*event_data*\n```', '```') } });

  const when = `<!date^${unixSeconds(event.occurAt)}^{date_short_pretty} at {time}|${rfc3339Seconds(event.occurAt)}>`;
  lines.push({ type: 'context', elements: [{ type: 'mrkdwn', text: fitEscaped(`${event.type} · event ${event.id}`, slackLimits.sectionText, `${when} · `) }] });

  return {
    text: fitEscaped(subject ? `${s.label}: ${subject}` : s.label, slackLimits.fallbackText),
    blocks: lines.slice(0, slackLimits.blocks),
  };
}

/** The Slack format: Block Kit JSON, `Content-Type: application/json`. */
export const formatSlack: PayloadFormatter = (event, ctx): RenderedPayload => ({
  body: goJson(slackMessage(event, ctx)),
  headers: { 'Content-Type': 'application/json' },
});
