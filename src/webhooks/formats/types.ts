/**
 * A payload format is a pure function from an event and its delivery context to the HTTP body
 * and format-specific headers. One file per format in this folder; signing, auth and custom
 * headers are added later by the delivery worker, not here.
 */
import type { WharfEvent } from '../../events/index.ts';

/** Where and how an event is being delivered. */
export interface FormatContext {
  /** Wharf's external URL, e.g. `https://registry.example.com:8443` (formats strip the scheme where Harbor does). */
  externalUrl: string;
  policy: { id: number; name: string; projectId: number | null };
  target: {
    /** http | slack | discord | teams | mattermost | googlechat */
    type: string;
    /** Default | CloudEvents | Distribution | MSR for http targets; AdaptiveCard | MessageCard for teams; '' otherwise. */
    payloadFormat: string;
    /** Format options, e.g. `{ "cloudevents_mode": "binary" }`. */
    options: Record<string, unknown>;
  };
}

/** What a formatter produces. */
export interface RenderedPayload {
  /** The exact body to send. */
  body: string;
  /** Headers the format requires (Content-Type at least; CloudEvents binary mode adds ce-*). */
  headers: Record<string, string>;
}

/** A formatter. */
export type PayloadFormatter = (event: WharfEvent, ctx: FormatContext) => RenderedPayload;
