/** Webhooks: policies, payload formats, signing, the guarded HTTP client and the delivery worker. */
export { WebhookService, type WebhookServiceDeps } from './webhook-service.ts';
export type { FormatContext, RenderedPayload, PayloadFormatter } from './formats/types.ts';
