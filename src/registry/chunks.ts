/** `xs` in consecutive slices of at most `size` (statements that bind a list of values take them a chunk at a time). */
export function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
