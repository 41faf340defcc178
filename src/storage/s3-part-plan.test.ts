import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planParts, type PlannedPart, type PartLimits } from './s3-part-plan.ts';

/** Small limits keep the cases readable: parts of at least 5 and at most 20 bytes, 100 parts. */
const limits: PartLimits = { minPart: 5, maxCopyPart: 20, maxParts: 100 };
const chunks = (...sizes: number[]) => sizes.map((size, i) => ({ key: `c${i}`, size }));
const shape = (parts: PlannedPart[]) => parts.map((p) => (p.kind === 'copy' ? `copy ${p.segment.key}[${p.segment.start}-${p.segment.end}]` : `upload ${p.segments.map((s) => `${s.key}[${s.start}-${s.end}]`).join('+')}`));

/** Every byte of every chunk appears once, in order, and every part but the last is within the limits. */
function assertSound(sizes: number[], parts: PlannedPart[], l: PartLimits = limits): void {
  const seen: string[] = [];
  for (const p of parts) for (const s of p.kind === 'copy' ? [p.segment] : p.segments) for (let i = s.start; i <= s.end; i++) seen.push(`${s.key}:${i}`);
  const want = sizes.flatMap((n, c) => Array.from({ length: n }, (_, i) => `c${c}:${i}`));
  assert.deepEqual(seen, want);
  parts.forEach((p, i) => {
    if (i < parts.length - 1) assert.ok(p.size >= l.minPart, `part ${i + 1} of ${p.size} bytes is below the minimum`);
    if (p.kind === 'copy') assert.ok(p.size <= l.maxCopyPart);
  });
}

test('large chunks are copied whole; small ones merge up to the minimum, the last part may be small', () => {
  const p = planParts(chunks(8, 3, 3, 3, 1), limits);
  assert.deepEqual(shape(p), ['copy c0[0-7]', 'upload c1[0-2]+c2[0-2]', 'upload c3[0-2]+c4[0-0]']);
  assertSound([8, 3, 3, 3, 1], p);
});

test('a small run borrows from the next large chunk, or takes it whole when the rest would be too small', () => {
  assert.deepEqual(shape(planParts(chunks(2, 12), limits)), ['upload c0[0-1]+c1[0-2]', 'copy c1[3-11]']);
  assert.deepEqual(shape(planParts(chunks(2, 6), limits)), ['upload c0[0-1]+c1[0-5]']);
  for (const sizes of [[2, 12], [2, 6], [4, 4, 30, 1, 9], [1, 1, 1, 1, 1, 1, 50, 2]]) assertSound(sizes, planParts(chunks(...sizes), limits));
});

test('chunks beyond the largest part are split into near-equal copies', () => {
  const p = planParts(chunks(41), limits);
  assert.deepEqual(p.map((x) => x.size), [14, 14, 13]);
  assertSound([41], p);
  assertSound([3, 100, 7], planParts(chunks(3, 100, 7), limits));
});

test('empty chunks are skipped; too many parts is an error; the merge size grows with the total', () => {
  assert.deepEqual(planParts(chunks(0, 0), limits), []);
  assert.throws(() => planParts(chunks(...Array<number>(200).fill(20)), limits), /more than S3's 100/);
  const tiny = Array<number>(1000).fill(1);
  const p = planParts(chunks(...tiny), limits);
  assert.ok(p.length <= 100, `${p.length} parts`);
  assertSound(tiny, p);
});
