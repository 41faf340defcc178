/**
 * The one table mapping domain error codes to /api/v2.0 responses, and the error handlers of the
 * plugin. Harbor's wire format is `{"errors":[{"code":"NOT_FOUND","message":"..."}]}`; the codes
 * Harbor clients switch on (UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, PRECONDITION, BAD_REQUEST)
 * are kept, OCI codes from the registry keep their own name. docs/errors.md lists the same table.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError, type ErrorCode } from '../../domain/index.ts';
import { unavailableFor } from '../../observability/index.ts';

/** One row: the HTTP status and the code Harbor clients see. */
export interface HarborErrorSpec {
  status: number;
  code: string;
}

/** Every domain error code, mapped (the `satisfies` makes a new code a type error until it is added). */
export const harborErrors = {
  UNAUTHORIZED: { status: 401, code: 'UNAUTHORIZED' },
  DENIED: { status: 403, code: 'FORBIDDEN' },
  FORBIDDEN: { status: 403, code: 'FORBIDDEN' },
  NOT_FOUND: { status: 404, code: 'NOT_FOUND' },
  NAME_UNKNOWN: { status: 404, code: 'NOT_FOUND' },
  MANIFEST_UNKNOWN: { status: 404, code: 'NOT_FOUND' },
  BLOB_UNKNOWN: { status: 404, code: 'NOT_FOUND' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, code: 'NOT_FOUND' },
  CONFLICT: { status: 409, code: 'CONFLICT' },
  PRECONDITION_FAILED: { status: 412, code: 'PRECONDITION' },
  BAD_REQUEST: { status: 400, code: 'BAD_REQUEST' },
  NAME_INVALID: { status: 400, code: 'BAD_REQUEST' },
  DIGEST_INVALID: { status: 400, code: 'BAD_REQUEST' },
  MANIFEST_INVALID: { status: 400, code: 'BAD_REQUEST' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, code: 'BAD_REQUEST' },
  BLOB_UPLOAD_INVALID: { status: 400, code: 'BAD_REQUEST' },
  SIZE_INVALID: { status: 400, code: 'BAD_REQUEST' },
  RANGE_INVALID: { status: 400, code: 'BAD_REQUEST' },
  UNSUPPORTED: { status: 400, code: 'BAD_REQUEST' },
  UNPROCESSABLE: { status: 422, code: 'UNPROCESSABLE_ENTITY' },
  TOOMANYREQUESTS: { status: 429, code: 'TOO_MANY_REQUEST' },
  UNAVAILABLE: { status: 503, code: 'SERVICE_UNAVAILABLE' },
  POLICY_VIOLATION: { status: 412, code: 'PROJECTPOLICYVIOLATION' },
  IMMUTABLE_TAG: { status: 412, code: 'PRECONDITION' },
} as const satisfies Record<ErrorCode, HarborErrorSpec>;

/** The `WWW-Authenticate` challenge sent with every 401. */
export const basicChallenge = 'Basic realm="wharf"';

/** Harbor's error body. */
export function harborErrorBody(code: string, message: string): { errors: Array<{ code: string; message: string }> } {
  return { errors: [{ code, message }] };
}

/** Sends a Harbor error response (adding the Basic challenge to 401s). */
export function sendHarborError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', basicChallenge);
  return reply.code(status).type('application/json; charset=utf-8').send(harborErrorBody(code, message));
}

/** Codes for errors Fastify itself raises before a handler runs (body parsing, limits). */
function fastifyCode(status: number): string {
  switch (status) {
    case 400:
      return 'BAD_REQUEST';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    default:
      return 'BAD_REQUEST';
  }
}

/** The plugin's error handler: domain errors by the table, Fastify's 4xx as they are, anything else 500. */
export function harborErrorHandler(rawErr: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  // A full or failing disk (SQLITE_FULL, ENOSPC, EIO) is 503 SERVICE_UNAVAILABLE, not a 500.
  const err = unavailableFor(rawErr) ?? rawErr;
  if (isDomainError(err)) {
    const spec: HarborErrorSpec = harborErrors[err.code];
    if (spec.status >= 500) req.log.warn({ err: rawErr }, 'service unavailable');
    return sendHarborError(reply, spec.status, spec.code, err.message);
  }
  const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
  if ('validation' in err && err.validation) return sendHarborError(reply, 400, 'BAD_REQUEST', err.message);
  if (status >= 400 && status < 500) return sendHarborError(reply, status, fastifyCode(status), err.message);
  req.log.error({ err }, 'unexpected error in /api/v2.0');
  return sendHarborError(reply, 500, 'UNKNOWN', `internal error; quote request id ${req.id} when reporting it`);
}

/** 404 for paths under /api/v2.0 that no route serves. */
export function harborNotFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendHarborError(reply, 404, 'NOT_FOUND', `no API at ${req.method} ${req.url.split('?')[0] ?? ''}`);
}
