/** Webhooks: policies, payload formats, signing, the guarded HTTP client and the delivery worker. */
export { createWebhookServices, type WebhookServices, type WebhookServicesDeps } from './webhook-services.ts';
export { PolicyService, type PolicyServiceDeps, type TestSender } from './policy-service.ts';
export { HistoryService, type HistoryServiceDeps, type Redeliverer } from './history-service.ts';
export { WebhookSettings, notificationsEnabled, notificationEnableKey } from './settings.ts';
export { parseEndpoint, parseTarget, redacted, type TargetSpec } from './policy-spec.ts';
export type { PolicyScope, ListRequest, ListPage, SortKey, WebhookCallContext } from './policy-scope.ts';
export type { PolicyView, TargetView, ExecutionView, TaskView, TestResultView } from './views.ts';
export type { FormatContext, RenderedPayload, PayloadFormatter } from './formats/types.ts';
export { WebhookEngine, type WebhookEngineDeps, type Redelivery, type TargetSpecLike, type TestSendOptions } from './engine.ts';
export { DeliveryWorker } from './delivery-worker.ts';
export { redactUrl, type AttemptRecord, type AttemptTarget } from './delivery-attempt.ts';
export { WebhookHttpClient, type OutboundRequest, type OutboundResult } from './http-client.ts';
export { AddressPolicy, classifyAddress, embeddedIPv4, type AddressPolicyConfig, type AddressClass } from './address-policy.ts';
export { redactionMarker, redactAddress, restoreAddress, scrubSecrets } from './redaction.ts';
export { buildHeaders, validateSecret, standardWebhooksKey, hubSignature, userAgent } from './signer.ts';
export { classify, nextDelay, parseRetryAfter } from './retry.ts';
export { DeliveryThread, type DeliveryThreadOptions } from './delivery-thread.ts';
export { webhookDispatcher, dispatcherName, policyMatches, formatContext, type DispatcherDeps } from './dispatcher.ts';
