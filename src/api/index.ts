/**
 * The HTTP adapters: /v2 (oci/), /api/v2.0 (harbor/), the token endpoint (token/), health and
 * metrics, connection limits, and AppDeps, the contract buildApp() hands every plugin.
 */
export type { AppDeps } from './deps.ts';
export { healthRoutes } from './health.ts';
export { ociApi } from './oci/index.ts';
export { harborApi } from './harbor/index.ts';
export { msrApi } from './msr/index.ts';
export { tokenApi } from './token/index.ts';
export { consoleApi, consoleChallengeHook } from './console.ts';
export { ociErrorBody } from './oci/errors.ts';
export { harborErrorBody, harborErrorHandler, harborNotFound } from './harbor/errors.ts';
export { applyConnectionLimits, clientErrorHandler, closeGracefully, serverOptions } from './connections.ts';
export { isBlobUploadRequest } from './oci/blobs.ts';
export { tlsServerOptions, followCertificate, startRedirectServer, type ServedCertificate } from './tls.ts';
export { localRegistry } from './local-registry.ts';
