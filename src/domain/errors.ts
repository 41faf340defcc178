/**
 * Domain errors. Services throw these; each API surface maps `code` to its own HTTP status and
 * wire format in one table (src/api/oci/errors.ts, src/api/harbor/errors.ts). Nothing here knows HTTP.
 */

/** OCI Distribution error codes, as the spec names them. */
export const ociCodes = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
] as const;
/** An OCI Distribution error code. */
export type OciCode = (typeof ociCodes)[number];

/** Codes that are not OCI's: general service outcomes (Harbor's API names most of these). */
export const generalCodes = [
  'BAD_REQUEST',
  'NOT_FOUND',
  'CONFLICT',
  'FORBIDDEN',
  'PRECONDITION_FAILED',
  'UNPROCESSABLE',
  /** A chunk that does not start where the upload ends (HTTP 416 on /v2). */
  'RANGE_INVALID',
  'UNAVAILABLE',
  /** A project policy refuses the pull (prevent_vul: Harbor's 412 PROJECTPOLICYVIOLATION). */
  'POLICY_VIOLATION',
  /** An immutable tag refuses a push over it, its delete or a move (Harbor's 412 PRECONDITION). */
  'IMMUTABLE_TAG',
] as const;
/** A general, non-OCI error code. */
export type GeneralCode = (typeof generalCodes)[number];

/** Every code a domain error may carry. */
export type ErrorCode = OciCode | GeneralCode;

/** The one error type services throw: a stable code, a human message and an optional detail. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** Shorthand constructor: `fail('BLOB_UNKNOWN', 'blob unknown to registry', { digest })`. */
export function fail(code: ErrorCode, message: string, detail?: unknown): DomainError {
  return new DomainError(code, message, detail);
}

/** True when `err` is a DomainError (optionally with the given code). */
export function isDomainError(err: unknown, code?: ErrorCode): err is DomainError {
  return err instanceof DomainError && (code === undefined || err.code === code);
}

/** Exhaustiveness check for switches over discriminated unions. */
export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
