/**
 * The one table mapping domain error codes to /api/v0 (MSR) responses, and the plugin's error
 * handlers. MSR's wire format is `{"errors":[{"code":"...","message":"...","detail":...}]}`; a
 * service names MSR's own code in the error's detail (`{msrCode}`) where one exists
 * (WEBHOOK_NOT_FOUND, NAMESPACE_NOT_FOUND, INVALID_JSON, WEBHOOK_TEST_FAILED); otherwise the
 * table's code. docs/msr-api.md lists the same table.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError, type ErrorCode } from '../../domain/index.ts';
import { unavailableFor } from '../../observability/index.ts';

/** One row: the HTTP status and MSR's code. */
export interface MsrErrorSpec {
  status: number;
  code: string;
}

/** Every domain error code, mapped (the `satisfies` makes a new code a type error until it is added). */
export const msrErrors = {
  UNAUTHORIZED: { status: 401, code: 'NOT_AUTHENTICATED' },
  DENIED: { status: 403, code: 'NO_PERMISSION' },
  FORBIDDEN: { status: 403, code: 'NO_PERMISSION' },
  NOT_FOUND: { status: 404, code: 'NOT_FOUND' },
  NAME_UNKNOWN: { status: 404, code: 'REPOSITORY_NOT_FOUND' },
  MANIFEST_UNKNOWN: { status: 404, code: 'NOT_FOUND' },
  BLOB_UNKNOWN: { status: 404, code: 'NOT_FOUND' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, code: 'NOT_FOUND' },
  CONFLICT: { status: 409, code: 'CONFLICT' },
  PRECONDITION_FAILED: { status: 412, code: 'PRECONDITION_FAILED' },
  BAD_REQUEST: { status: 400, code: 'INVALID_PARAMETERS' },
  NAME_INVALID: { status: 400, code: 'INVALID_PARAMETERS' },
  DIGEST_INVALID: { status: 400, code: 'INVALID_PARAMETERS' },
  MANIFEST_INVALID: { status: 400, code: 'INVALID_PARAMETERS' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, code: 'INVALID_PARAMETERS' },
  BLOB_UPLOAD_INVALID: { status: 400, code: 'INVALID_PARAMETERS' },
  SIZE_INVALID: { status: 400, code: 'INVALID_PARAMETERS' },
  RANGE_INVALID: { status: 400, code: 'INVALID_PARAMETERS' },
  UNSUPPORTED: { status: 400, code: 'INVALID_PARAMETERS' },
  UNPROCESSABLE: { status: 422, code: 'INVALID_PARAMETERS' },
  TOOMANYREQUESTS: { status: 429, code: 'TOO_MANY_REQUESTS' },
  UNAVAILABLE: { status: 503, code: 'SERVICE_UNAVAILABLE' },
  POLICY_VIOLATION: { status: 412, code: 'PRECONDITION_FAILED' },
  IMMUTABLE_TAG: { status: 412, code: 'PRECONDITION_FAILED' },
} as const satisfies Record<ErrorCode, MsrErrorSpec>;

/** One MSR error. */
export interface MsrError {
  code: string;
  message: string;
  detail?: unknown;
}

/** Sends an MSR error response (a Basic challenge with 401s, as the rest of Wharf). */
export function sendMsrError(reply: FastifyReply, status: number, error: MsrError): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Basic realm="wharf"');
  return reply.code(status).type('application/json; charset=utf-8').send({ errors: [error] });
}

/** MSR's own code a service named in an error's detail (`{msrCode}`), or null. */
function msrCodeOf(detail: unknown): string | null {
  if (typeof detail !== 'object' || detail === null || !('msrCode' in detail)) return null;
  return typeof detail.msrCode === 'string' ? detail.msrCode : null;
}

/** The plugin's error handler: domain errors by the table, Fastify's 4xx as they are, anything else 500. */
export function msrErrorHandler(rawErr: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const err = unavailableFor(rawErr) ?? rawErr;
  if (isDomainError(err)) {
    const spec: MsrErrorSpec = msrErrors[err.code];
    const named = msrCodeOf(err.detail);
    if (spec.status >= 500) req.log.warn({ err: rawErr }, 'service unavailable');
    return sendMsrError(reply, spec.status, { code: named ?? spec.code, message: err.message });
  }
  const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status >= 400 && status < 500) return sendMsrError(reply, status, { code: status === 400 ? 'INVALID_JSON' : 'INVALID_PARAMETERS', message: err.message });
  req.log.error({ err }, 'unexpected error in /api/v0');
  return sendMsrError(reply, 500, { code: 'INTERNAL_ERROR', message: `internal error; quote request id ${req.id} when reporting it` });
}

/** 404 for paths under /api/v0 that no route serves. */
export function msrNotFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendMsrError(reply, 404, { code: 'NOT_FOUND', message: `no API at ${req.method} ${req.url.split('?')[0] ?? ''}` });
}
