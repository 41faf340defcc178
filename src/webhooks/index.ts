/** Webhooks: policies, payload formats, signing, the guarded HTTP client and the delivery worker. */
export {
  WebhookService,
  parseEndpoint,
  parseTarget,
  redacted,
  notificationEnableKey,
  type WebhookServiceDeps,
  type PolicyScope,
  type ListRequest,
  type ListPage,
  type SortKey,
  type TargetSpec,
  type PolicyView,
  type TargetView,
  type ExecutionView,
  type TaskView,
} from './webhook-service.ts';
export type { FormatContext, RenderedPayload, PayloadFormatter } from './formats/types.ts';
export { WebhookEngine, type WebhookEngineDeps, type Redelivery, type TargetSpecLike, type TestSendOptions } from './engine.ts';
export { DeliveryWorker, redactUrl, type AttemptRecord, type AttemptTarget } from './delivery-worker.ts';
export { WebhookHttpClient, type OutboundRequest, type OutboundResult } from './http-client.ts';
export { AddressPolicy, classifyAddress, embeddedIPv4, type AddressPolicyConfig, type AddressClass } from './address-policy.ts';
export { redactionMarker, redactAddress, restoreAddress, scrubSecrets } from './redaction.ts';
export { buildHeaders, validateSecret, standardWebhooksKey, hubSignature, userAgent } from './signer.ts';
export { classify, nextDelay, parseRetryAfter } from './retry.ts';
