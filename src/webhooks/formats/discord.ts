/**
 * Discord webhook bodies: one embed per event (title, repository, tag, digest, operator, a link
 * to the artifact, the time, a colour per event kind), within Discord's limits whatever the
 * names and tag lists, and with mentions disabled so a tag named `@everyone` pings nobody.
 * Scan events add the scan type, status, a field per severity count and the scanner, and a
 * completed vulnerability scan is coloured by its worst finding.
 */
import type { WharfEvent } from '../../events/index.ts';
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import { goJson, scanSeverities, summarize, truncate, type AnyEventType, type ScanFacts } from './common.ts';
import { platformsText } from './default.ts';

/** Discord's documented embed limits that this format respects. */
export const discordLimits = {
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  /** Title + description + field names and values + footer, all together. */
  total: 6000,
} as const;

/** Embed colour per event kind (RGB as an integer, as Discord wants it). */
export const discordColours: Readonly<Record<AnyEventType, number>> = {
  PUSH_ARTIFACT: 0x2ecc71,
  PULL_ARTIFACT: 0x3498db,
  DELETE_ARTIFACT: 0xe74c3c,
  CREATE_TAG: 0x1abc9c,
  DELETE_TAG: 0xe67e22,
  CREATE_REPOSITORY: 0x9b59b6,
  DELETE_REPOSITORY: 0x992d22,
  CREATE_PROJECT: 0x9b59b6,
  DELETE_PROJECT: 0x992d22,
  ARTIFACT_LABELED: 0x1abc9c,
  QUOTA_EXCEED: 0xe74c3c,
  QUOTA_WARNING: 0xf1c40f,
  SCANNING_COMPLETED: 0x2ecc71,
  SCANNING_FAILED: 0xe74c3c,
  SCANNING_STOPPED: 0x95a5a6,
  REPLICATION: 0x3498db,
  TAG_RETENTION: 0x9b59b6,
  WEBHOOK_TARGET_DISABLED: 0xe74c3c,
};

/** Embed colour of a completed vulnerability scan by the worst finding (none: the event's colour). */
export const discordSeverityColours: Readonly<Record<'Critical' | 'High' | 'Medium' | 'Low', number>> = {
  Critical: 0x992d22,
  High: 0xe74c3c,
  Medium: 0xe67e22,
  Low: 0xf1c40f,
};

function scanColour(f: ScanFacts, fallback: number): number {
  if (f.status !== 'Success' || f.scanType !== 'vulnerability') return fallback;
  for (const sev of ['Critical', 'High', 'Medium', 'Low'] as const) {
    if (f.counts !== null ? f.counts[sev] > 0 : f.severity === sev) return discordSeverityColours[sev];
  }
  return fallback;
}

/** Every event type has a Discord rendering. */
export function discordSupports(_eventType: AnyEventType): boolean {
  return true;
}

interface EmbedField {
  name: string;
  value: string;
  inline: boolean;
}

interface Embed {
  title: string;
  description?: string;
  url?: string;
  color: number;
  fields: EmbedField[];
  timestamp: string;
  footer: { text: string };
}

/** The characters Discord counts toward an embed's 6000 total. */
export function embedLength(e: Embed): number {
  let n = e.title.length + (e.description?.length ?? 0) + e.footer.text.length;
  for (const f of e.fields) n += f.name.length + f.value.length;
  return n;
}

/** Cuts the longest text (description or a field value) until the embed fits the total limit. */
function fitTotal(e: Embed): Embed {
  let over = embedLength(e) - discordLimits.total;
  while (over > 0) {
    let longest: EmbedField | null = null;
    for (const f of e.fields) if (longest === null || f.value.length > longest.value.length) longest = f;
    const descLen = e.description?.length ?? 0;
    if (e.description !== undefined && descLen >= (longest?.value.length ?? 0)) {
      e.description = truncate(e.description, Math.max(1, descLen - over));
    } else if (longest !== null && longest.value.length > 1) {
      longest.value = truncate(longest.value, Math.max(1, longest.value.length - over));
    } else {
      e.title = truncate(e.title, Math.max(1, e.title.length - over));
    }
    const next = embedLength(e) - discordLimits.total;
    if (next >= over) break; // nothing left to cut; cannot happen with the limits above
    over = next;
  }
  return e;
}

function field(name: string, value: string, inline: boolean): EmbedField {
  // Discord rejects empty values.
  return { name: truncate(name, discordLimits.fieldName), value: truncate(value === '' ? '-' : value, discordLimits.fieldValue), inline };
}

/** The Discord body as an object (what `body` encodes). */
export function discordMessage(event: WharfEvent, ctx: FormatContext): { username: string; allowed_mentions: { parse: string[] }; embeds: Embed[] } {
  const s = summarize(event, ctx.externalUrl);
  const subject = s.repository !== null ? `${s.repository}${s.tag !== null ? `:${s.tag}` : ''}` : (s.project ?? '');
  const fields: EmbedField[] = [];
  if (s.repository !== null) fields.push(field('Repository', s.repository, true));
  if (s.tag !== null) fields.push(field('Tag', s.tag, true));
  if (s.project !== null) fields.push(field('Project', s.project, true));
  if (event.type !== 'WEBHOOK_TARGET_DISABLED') fields.push(field('Operator', event.operator === '' ? '(anonymous)' : event.operator, true));
  // Scan results sit with the other inline facts, before the long digest lines.
  if (s.scan !== null) {
    const f = s.scan;
    fields.push(field('Scan type', f.scanType, true));
    fields.push(field('Status', f.status, true));
    if (f.counts !== null) for (const sev of scanSeverities) fields.push(field(sev, String(f.counts[sev]), true));
    if (f.scanner !== null) fields.push(field('Scanner', f.scanner, true));
    if (f.platform !== null) fields.push(field('Platform', f.platform, true));
  }
  if (s.digest !== null) fields.push(field('Digest', `\`${s.digest}\``, false));
  if (s.image !== null) fields.push(field('Image', `\`${s.image}\``, false));
  if (s.tags.length > 1) fields.push(field('All tags', s.tags.join(', '), false));
  const platforms = platformsText(event);
  if (platforms !== null) fields.push(field('Platforms', platforms, false));

  if (s.scan !== null && s.scan.parentDigest !== null) fields.push(field('Index', `\`${s.scan.parentDigest}\``, false));
  const embed: Embed = {
    title: truncate(subject ? `${s.label}: ${subject}` : s.label, discordLimits.title),
    description: s.detail !== null ? truncate(s.detail, discordLimits.description) : undefined,
    url: s.link ?? undefined,
    color: s.scan !== null ? scanColour(s.scan, discordColours[event.type]) : discordColours[event.type],
    fields: fields.slice(0, discordLimits.fields),
    timestamp: new Date(event.occurAt).toISOString(),
    footer: { text: truncate(`Wharf · ${event.type} · ${event.id}`, discordLimits.footer) },
  };
  return { username: 'Wharf', allowed_mentions: { parse: [] }, embeds: [fitTotal(embed)] };
}

/** The Discord format: one embed, `Content-Type: application/json`. */
export const formatDiscord: PayloadFormatter = (event, ctx): RenderedPayload => ({
  body: goJson(discordMessage(event, ctx)),
  headers: { 'Content-Type': 'application/json' },
});
