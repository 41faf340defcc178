/** The relay: webhooks of registries that are not Wharf (Harbor, the CNCF registry, Docker Hub) as Wharf events. */
export { WebhookRelays, receiptTtlMs, relayPathPrefix, type WebhookRelaysDeps, type RelayView, type CreatedRelayView, type RelayReceipt } from './relay-service.ts';
export { parseRelayPayload, unrecognisedMessage } from './detect.ts';
export type { RelayInput, RelayContext, RelayedEvent, ParsedRelay } from './types.ts';
