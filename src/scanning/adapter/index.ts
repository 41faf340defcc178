/**
 * Harbor's Pluggable Scanner API: the shared wire types and media types (protocol.ts) and the
 * client Wharf drives any adapter with (client.ts).
 */
export * from './protocol.ts';
export {
  AdapterClient,
  AdapterError,
  DEFAULT_REFRESH_AFTER_SECONDS,
  adapterAuthHeaders,
  capabilitiesOf,
  parseMetadata,
  parseRefreshAfter,
  validateMetadata,
  type AdapterAuth,
  type AdapterCapabilities,
  type AdapterClientOptions,
  type AdapterEndpoint,
  type AdapterErrorKind,
  type ReportPoll,
} from './client.ts';
