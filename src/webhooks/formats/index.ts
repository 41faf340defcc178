/**
 * Payload formats: which formatter renders which target, which event types each can render, and
 * what Harbor's `GET /projects/{p}/webhook/events` lists.
 *
 * Contract with the dispatcher and the delivery worker:
 * - Before creating a delivery, call `supports(target.type, target.payload_format, event.type)`.
 *   When it is false, skip the target for that event (record nothing, or a "skipped" note): the
 *   Distribution and MSR formats have no equivalent for some events (see docs/webhook-formats.md).
 *   A formatter called anyway throws `DomainError('UNSUPPORTED')`.
 * - Render once, when the delivery is created, and store `body` and `headers`: retries and
 *   redeliveries resend the same bytes (CloudEvents `id` is the event id in any case).
 * - `headers` holds only what the format needs (`Content-Type`, and `ce-*` in CloudEvents binary
 *   mode, in lower case). Compare header names case-insensitively when adding Authorization,
 *   signatures and custom headers; never let a custom header replace these.
 * - An http target with an empty `payload_format` is Default, as in Harbor.
 */
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import type { AnyEventType } from './common.ts';
import { fail } from '../../domain/index.ts';
import { defaultSupports, formatDefault } from './default.ts';
import { cloudEventsSupports, formatCloudEvents } from './cloudevents.ts';
import { distributionSupports, formatDistribution } from './distribution.ts';
import { formatMsr, msrSupports } from './msr.ts';
import { formatSlack, slackSupports } from './slack.ts';
import { discordSupports, formatDiscord } from './discord.ts';
import { formatTemplate, templateSupports } from './template.ts';
import { formatTeams, teamsPayloadFormats, teamsSupports } from './teams.ts';
import { formatMattermost, mattermostSupports } from './mattermost.ts';
import { formatGoogleChat, googleChatSupports } from './google-chat.ts';

export type { FormatContext, PayloadFormatter, RenderedPayload };
export { formatDefault, defaultEventData, defaultPayload, defaultContentType } from './default.ts';
export { formatCloudEvents, toCloudEvent, cloudEventTypes, cloudEventSource } from './cloudevents.ts';
export { formatDistribution, distributionEnvelope, distributionContentTypes } from './distribution.ts';
export { formatMsr, msrPayload } from './msr.ts';
export { formatSlack, slackMessage, slackLimits } from './slack.ts';
export { formatDiscord, discordMessage, discordLimits } from './discord.ts';
export { formatTeams, teamsWorkflowMessage, teamsMessageCard, teamsLimits, teamsPayloadFormats, type TeamsPayloadFormat } from './teams.ts';
export { formatMattermost, mattermostMessage, mattermostLimits } from './mattermost.ts';
export { formatGoogleChat, googleChatMessage, googleChatLimits } from './google-chat.ts';
export { eventLabels, type AnyEventType } from './common.ts';
export { formatTemplate, checkTemplate, templateVariables, templateLimits, defaultTemplateContentType, isJsonContentType } from './template.ts';

/** Notify types (a target's `type`), Harbor's two and Wharf's Discord, Teams, Mattermost and Google Chat. */
export const notifyTypes = ['http', 'slack', 'discord', 'teams', 'mattermost', 'googlechat'] as const;
/** A notify type. */
export type NotifyType = (typeof notifyTypes)[number];

/** Payload formats of http targets, in the order the API lists them. */
export const httpPayloadFormats = ['Default', 'CloudEvents', 'Distribution', 'MSR', 'Template'] as const;
/** An http payload format. */
export type HttpPayloadFormat = (typeof httpPayloadFormats)[number];

/**
 * `payload_formats` of `GET /webhook/events`. As in Harbor, only notify types with a choice are
 * listed: http, and Wharf's Teams (AdaptiveCard, the default, or MessageCard). Slack, Discord,
 * Mattermost and Google Chat targets have one fixed format and take no `payload_format`.
 */
export const payloadFormats: ReadonlyArray<{ notify_type: NotifyType; formats: readonly string[] }> = [
  { notify_type: 'http', formats: httpPayloadFormats },
  { notify_type: 'teams', formats: teamsPayloadFormats },
];

/** True when `t` is a notify type Wharf knows. */
export function isNotifyType(t: string): t is NotifyType {
  return (notifyTypes as readonly string[]).includes(t);
}

/**
 * True when `f` is a valid `payload_format` for notify type `t`: '' means Default for http and
 * AdaptiveCard for teams; the other types take none.
 */
export function isPayloadFormatFor(t: NotifyType, f: string): boolean {
  if (t === 'http') return f === '' || (httpPayloadFormats as readonly string[]).includes(f);
  if (t === 'teams') return f === '' || (teamsPayloadFormats as readonly string[]).includes(f);
  return f === '';
}

interface FormatEntry {
  format: PayloadFormatter;
  supports: (eventType: AnyEventType) => boolean;
}

function entryFor(targetType: string, payloadFormat: string): FormatEntry | null {
  switch (targetType) {
    case 'http':
      switch (payloadFormat) {
        case '':
        case 'Default':
          return { format: formatDefault, supports: defaultSupports };
        case 'CloudEvents':
          return { format: formatCloudEvents, supports: cloudEventsSupports };
        case 'Distribution':
          return { format: formatDistribution, supports: distributionSupports };
        case 'MSR':
          return { format: formatMsr, supports: msrSupports };
        case 'Template':
          return { format: formatTemplate, supports: templateSupports };
        default:
          return null;
      }
    case 'slack':
      return { format: formatSlack, supports: slackSupports };
    case 'discord':
      return { format: formatDiscord, supports: discordSupports };
    case 'teams':
      return payloadFormat === '' || (teamsPayloadFormats as readonly string[]).includes(payloadFormat) ? { format: formatTeams, supports: teamsSupports } : null;
    case 'mattermost':
      return { format: formatMattermost, supports: mattermostSupports };
    case 'googlechat':
      return { format: formatGoogleChat, supports: googleChatSupports };
    default:
      return null;
  }
}

/** The formatter for a target; throws BAD_REQUEST for an unknown notify type or payload format. */
export function formatterFor(targetType: string, payloadFormat: string): PayloadFormatter {
  const entry = entryFor(targetType, payloadFormat);
  if (entry === null) {
    throw fail('BAD_REQUEST', `unsupported payload format ${JSON.stringify(payloadFormat)} for notify type ${JSON.stringify(targetType)}`);
  }
  return entry.format;
}

/** Whether a target renders events of this type (false also for an unknown type or format). */
export function supports(targetType: string, payloadFormat: string, eventType: AnyEventType): boolean {
  return entryFor(targetType, payloadFormat)?.supports(eventType) ?? false;
}

/** An execution's `vendor_type`: Harbor's WEBHOOK and SLACK, Wharf's DISCORD, TEAMS, MATTERMOST, GOOGLECHAT. */
export type VendorType = 'WEBHOOK' | 'SLACK' | 'DISCORD' | 'TEAMS' | 'MATTERMOST' | 'GOOGLECHAT';

/** Harbor's execution `vendor_type` for a notify type (see {@link VendorType}); BAD_REQUEST otherwise. */
export function vendorTypeFor(targetType: string): VendorType {
  switch (targetType) {
    case 'http':
      return 'WEBHOOK';
    case 'slack':
      return 'SLACK';
    case 'discord':
      return 'DISCORD';
    case 'teams':
      return 'TEAMS';
    case 'mattermost':
      return 'MATTERMOST';
    case 'googlechat':
      return 'GOOGLECHAT';
    default:
      throw fail('BAD_REQUEST', `unsupported notify type ${JSON.stringify(targetType)}`);
  }
}

/** Renders an event for a target: `formatterFor(...)` applied, for callers that need no caching. */
export function render(event: Parameters<PayloadFormatter>[0], ctx: FormatContext): RenderedPayload {
  return formatterFor(ctx.target.type, ctx.target.payloadFormat)(event, ctx);
}
