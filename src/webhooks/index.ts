/** Webhooks: policies, payload formats, signing, the guarded HTTP client and the delivery worker. */
export {
  WebhookService,
  parseEndpoint,
  parseTarget,
  redacted,
  notificationEnableKey,
  type WebhookServiceDeps,
  type DeliveryPort,
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
