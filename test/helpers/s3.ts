/**
 * The real S3 server the S3 driver's tests run against (Ceph radosgw from scripts/dev-services.sh,
 * passed in by scripts/run-tests.mjs as WHARF_TEST_S3_* variables, path-style). Without them the
 * tests skip, unless WHARF_REQUIRE_E2E=1, where they fail. Each store gets a fresh key prefix, so
 * runs share the bucket without seeing each other; `removePrefix` empties it afterwards.
 */
import { randomUUID } from 'node:crypto';
import { AbortMultipartUploadCommand, DeleteObjectCommand, ListMultipartUploadsCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/storage/s3-blob-store.ts';

/** Where the test S3 server is. */
export interface S3TestServer {
  endpoint: string;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
}

/** The WHARF_TEST_S3_* server, or null when they are not all set. */
export function s3TestServer(): S3TestServer | null {
  const e = process.env;
  const endpoint = e.WHARF_TEST_S3_ENDPOINT;
  const bucket = e.WHARF_TEST_S3_BUCKET;
  const accessKey = e.WHARF_TEST_S3_ACCESS_KEY;
  const secretKey = e.WHARF_TEST_S3_SECRET_KEY;
  if (!endpoint || !bucket || !accessKey || !secretKey) return null;
  return { endpoint, region: e.WHARF_TEST_S3_REGION || 'us-east-1', bucket, accessKey, secretKey };
}

/**
 * The `skip` option for an S3 test: a reason when no server is configured and e2e is not
 * required, else false (the test runs, and {@link requireS3} fails it when there is no server).
 */
export function skipWithoutS3(): string | false {
  if (s3TestServer() || process.env.WHARF_REQUIRE_E2E === '1') return false;
  return 'no S3 server: set WHARF_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY, _SECRET_KEY (scripts/dev-services.sh start, then scripts/run-tests.mjs); WHARF_REQUIRE_E2E=1 fails instead';
}

/** The server, or an error saying that WHARF_REQUIRE_E2E=1 requires one; call first in every S3 test. */
export function requireS3(): S3TestServer {
  const s = s3TestServer();
  if (!s) throw new Error('WHARF_REQUIRE_E2E=1 requires the S3 tests to run, but WHARF_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY or _SECRET_KEY is not set');
  return s;
}

/** A key prefix no other run uses: `wharf-test/<label>-<uuid>/`. */
export function freshPrefix(label: string): string {
  return `wharf-test/${label}-${randomUUID()}/`;
}

/** Driver options for the test server under `prefix`. */
export function s3StoreOptions(s: S3TestServer, prefix: string, extra: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions {
  return {
    endpoint: s.endpoint,
    region: s.region,
    bucket: s.bucket,
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
    forcePathStyle: true,
    prefix,
    ...extra,
  };
}

/** A driver for the test server under `prefix`. */
export function s3Store(s: S3TestServer, prefix: string, extra: Partial<S3BlobStoreOptions> = {}): S3BlobStore {
  return new S3BlobStore(s3StoreOptions(s, prefix, extra));
}

/** `storage` config overrides for startWharf: the S3 driver on the test server under `prefix`. */
export function s3StorageConfig(s: S3TestServer, prefix: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    driver: 's3',
    s3: { endpoint: s.endpoint, region: s.region, bucket: s.bucket, access_key: s.accessKey, secret_key: s.secretKey, force_path_style: true, prefix },
    ...extra,
  };
}

/** A plain SDK client for the test server (to look behind the driver's back). */
export function s3Client(s: S3TestServer): S3Client {
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Every key under `prefix`. */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
    for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
  }
  return out;
}

/** The incomplete multipart uploads under `prefix`. */
export async function listMultipart(client: S3Client, bucket: string, prefix: string): Promise<{ key: string; uploadId: string }[]> {
  const r = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (r.Uploads ?? []).flatMap((u) => (u.Key && u.UploadId ? [{ key: u.Key, uploadId: u.UploadId }] : []));
}

/** Removes every object and incomplete multipart upload under `prefix`. */
export async function removePrefix(s: S3TestServer, prefix: string): Promise<void> {
  const client = s3Client(s);
  try {
    for (const u of await listMultipart(client, s.bucket, prefix)) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: s.bucket, Key: u.key, UploadId: u.uploadId })).catch(() => undefined);
    }
    for (const key of await listKeys(client, s.bucket, prefix)) await client.send(new DeleteObjectCommand({ Bucket: s.bucket, Key: key }));
  } finally {
    client.destroy();
  }
}
