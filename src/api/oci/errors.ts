/**
 * The one table mapping domain error codes to /v2 HTTP statuses and wire codes, after the OCI
 * Distribution spec's error codes (and distribution's statuses for them). Handlers and services
 * name a code, never a status. docs/errors.md lists the same rows; errors.test.ts keeps them in step.
 */
import type { ErrorCode } from '../../domain/index.ts';

/** How one domain code appears on the wire under /v2. */
export interface OciErrorEntry {
  /** HTTP status. */
  status: number;
  /** The `code` in `{"errors":[{"code","message","detail"}]}`. */
  code: string;
  /** What the code means (the docs' text; the error's own message is sent). */
  meaning: string;
}

/** Every domain code's /v2 status and wire code. */
export const ociErrorTable: Record<ErrorCode, OciErrorEntry> = {
  BLOB_UNKNOWN: { status: 404, code: 'BLOB_UNKNOWN', meaning: 'the blob is not in this repository' },
  BLOB_UPLOAD_INVALID: { status: 400, code: 'BLOB_UPLOAD_INVALID', meaning: 'the upload is invalid, e.g. its body ended early' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN', meaning: 'no such upload in this repository (finished, cancelled, expired or never started)' },
  DIGEST_INVALID: { status: 400, code: 'DIGEST_INVALID', meaning: 'the digest is malformed or does not match the uploaded content (the upload is discarded)' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, code: 'MANIFEST_BLOB_UNKNOWN', meaning: 'the manifest references a blob or manifest the repository does not have' },
  MANIFEST_INVALID: { status: 400, code: 'MANIFEST_INVALID', meaning: 'the manifest or reference is malformed' },
  MANIFEST_UNKNOWN: { status: 404, code: 'MANIFEST_UNKNOWN', meaning: 'no such manifest or tag in this repository' },
  NAME_INVALID: { status: 400, code: 'NAME_INVALID', meaning: 'the repository name is malformed (upper case, escapes, "..", no project part)' },
  NAME_UNKNOWN: { status: 404, code: 'NAME_UNKNOWN', meaning: 'the repository or its project does not exist' },
  SIZE_INVALID: { status: 400, code: 'SIZE_INVALID', meaning: 'the content is larger than allowed or its length does not match' },
  UNAUTHORIZED: { status: 401, code: 'UNAUTHORIZED', meaning: 'authentication required (answered with WWW-Authenticate)' },
  DENIED: { status: 403, code: 'DENIED', meaning: 'the authenticated caller may not do this' },
  UNSUPPORTED: { status: 405, code: 'UNSUPPORTED', meaning: 'the operation or digest algorithm is not supported' },
  TOOMANYREQUESTS: { status: 429, code: 'TOOMANYREQUESTS', meaning: 'too many requests' },
  BAD_REQUEST: { status: 400, code: 'BAD_REQUEST', meaning: 'the request is malformed' },
  NOT_FOUND: { status: 404, code: 'NOT_FOUND', meaning: 'no such /v2 route' },
  CONFLICT: { status: 409, code: 'CONFLICT', meaning: 'the request conflicts with the current state' },
  FORBIDDEN: { status: 403, code: 'DENIED', meaning: 'forbidden' },
  PRECONDITION_FAILED: { status: 412, code: 'PRECONDITION_FAILED', meaning: 'a precondition failed' },
  UNPROCESSABLE: { status: 422, code: 'UNPROCESSABLE', meaning: 'the request is well-formed but cannot be processed' },
  RANGE_INVALID: { status: 416, code: 'BLOB_UPLOAD_INVALID', meaning: 'a chunk does not start where the upload ends, or a read range is not satisfiable' },
  UNAVAILABLE: { status: 503, code: 'UNAVAILABLE', meaning: 'a dependency (database, storage) is unavailable, e.g. a write found the disk full' },
  POLICY_VIOLATION: { status: 412, code: 'PROJECTPOLICYVIOLATION', meaning: "the project's policy refuses the pull (prevent_vul), as Harbor answers" },
  IMMUTABLE_TAG: { status: 412, code: 'PRECONDITION', meaning: 'the tag is immutable (a tag immutability rule): no push over it, no delete, as Harbor answers' },
};

/** The entry for unknown errors (500; the body carries the request id). */
export const ociUnknownError: OciErrorEntry = { status: 500, code: 'UNKNOWN', meaning: 'an unexpected error; the body names the request id to find it in the log' };

/** The /v2 wire body for one error. */
export function ociErrorBody(code: string, message: string, detail?: unknown): { errors: Array<{ code: string; message: string; detail?: unknown }> } {
  return { errors: [detail === undefined ? { code, message } : { code, message, detail }] };
}
