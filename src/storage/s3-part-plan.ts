/**
 * How the S3 driver assembles an upload's chunk objects into one blob object: the parts of ONE
 * multipart upload, planned as a pure function of the chunks' sizes.
 *
 * S3 requires every part but the last to be at least 5 MiB, at most 5 GiB, and at most 10,000
 * parts. So:
 * - a stretch of the blob that starts a part and is at least `minPart` long is copied server-side
 *   (UploadPartCopy, by byte range), split into equal pieces of at most `maxCopyPart`;
 * - a run of smaller chunks is merged into one part that the driver re-uploads (streaming the
 *   bytes from the chunk objects), topped up from the next chunk until it reaches the merge size;
 *   when what would be left of that chunk is below `minPart`, the whole chunk joins the merge;
 * - the last part may be small.
 */

/** A chunk object: its key and size, in upload order. */
export interface ChunkObject {
  key: string;
  size: number;
}

/** A byte range of one chunk object, inclusive. */
export interface Segment {
  key: string;
  start: number;
  end: number;
}

/** One part of the multipart upload. */
export type PlannedPart =
  | { kind: 'copy'; segment: Segment; size: number }
  | { kind: 'upload'; segments: Segment[]; size: number };

/** S3's limits (overridable for tests of the planner itself). */
export interface PartLimits {
  /** Smallest part but the last (S3: 5 MiB). */
  minPart: number;
  /** Largest part (S3: 5 GiB). */
  maxCopyPart: number;
  /** Most parts in one multipart upload (S3: 10,000). */
  maxParts: number;
}

export const s3PartLimits: PartLimits = { minPart: 5 * 1024 * 1024, maxCopyPart: 5 * 1024 * 1024 * 1024, maxParts: 10_000 };

/**
 * The parts that rebuild `chunks` (empty chunks are skipped). The merge size grows with the total
 * so that many tiny chunks still fit in `maxParts` parts. Throws when the blob cannot fit at all.
 */
export function planParts(chunks: readonly ChunkObject[], limits: PartLimits = s3PartLimits): PlannedPart[] {
  const total = chunks.reduce((n, c) => n + c.size, 0);
  // Leave a tenth of the part numbers for copy parts between merged runs.
  const mergeSize = Math.max(limits.minPart, Math.ceil(total / Math.floor(limits.maxParts * 0.9)));
  const parts: PlannedPart[] = [];
  let pending: Segment[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pendingBytes === 0) return;
    parts.push({ kind: 'upload', segments: pending, size: pendingBytes });
    pending = [];
    pendingBytes = 0;
  };
  for (const c of chunks) {
    let pos = 0;
    while (pos < c.size) {
      const left = c.size - pos;
      if (pendingBytes > 0) {
        // Top up the merge; take the whole rest when what would remain is too small to stand alone.
        let take = Math.min(left, mergeSize - pendingBytes);
        if (left - take < limits.minPart) take = left;
        pending.push({ key: c.key, start: pos, end: pos + take - 1 });
        pendingBytes += take;
        pos += take;
        if (pendingBytes >= mergeSize) flush();
      } else if (left >= limits.minPart) {
        // Near-equal pieces of at most maxCopyPart (the first `extra` one byte longer); each is at
        // least minPart, since left is and maxCopyPart is far above twice minPart.
        const pieces = Math.ceil(left / limits.maxCopyPart);
        const base = Math.floor(left / pieces);
        const extra = left - base * pieces;
        for (let i = 0; i < pieces; i++) {
          const size = i < extra ? base + 1 : base;
          parts.push({ kind: 'copy', segment: { key: c.key, start: pos, end: pos + size - 1 }, size });
          pos += size;
        }
      } else {
        pending.push({ key: c.key, start: pos, end: c.size - 1 });
        pendingBytes += left;
        pos = c.size;
        if (pendingBytes >= mergeSize) flush();
      }
    }
  }
  flush();
  if (parts.length > limits.maxParts) throw new Error(`the upload needs ${parts.length} parts, more than S3's ${limits.maxParts}`);
  return parts;
}
