/**
 * Go build information, found by streaming an executable: the `\xff Go buildinf:` header at a
 * 16-byte-aligned offset, then (Go 1.18+ inline format) two uvarint-length strings, the Go
 * version and the module info. The scanner keeps at most one chunk plus a short tail while
 * searching, and only the candidate's bytes (bounded) once found; its work is linear in the
 * bytes pushed. The older pointer format (before Go 1.18) is not read.
 */

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_SIZE = 32;
const FLAG_INLINE = 0x2;
/** Longest Go version string accepted (`go1.22.1 X:boringcrypto` and the like). */
const MAX_VERSION_LENGTH = 256;
/** Largest module info accepted; real ones are a few to a few tens of KiB. */
export const MAX_MODINFO_LENGTH = 1024 * 1024;
/** Longest uvarint kept (5 bytes hold more than MAX_MODINFO_LENGTH). */
const MAX_VARINT_BYTES = 5;

/** ELF, PE and Mach-O (thin and fat) start with one of these. */
const EXECUTABLE_MAGICS = [
  Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
  Buffer.from([0xfe, 0xed, 0xfa, 0xce]),
  Buffer.from([0xfe, 0xed, 0xfa, 0xcf]),
  Buffer.from([0xce, 0xfa, 0xed, 0xfe]),
  Buffer.from([0xcf, 0xfa, 0xed, 0xfe]),
  Buffer.from([0xca, 0xfe, 0xba, 0xbe]),
];

/** A module as the build info names it. */
export interface GoModule {
  path: string;
  version: string;
}

/** What a Go binary says about how it was built. */
export interface GoBuildInfo {
  /** As embedded: `go1.22.1`, `go1.23.1 X:nocoverageredesign`. */
  goVersion: string;
  /** The `mod` line; null for `go build file.go` and binaries without module info. */
  main: GoModule | null;
  /** `dep` lines, each replaced by its `=>` line when there is one. */
  deps: GoModule[];
}

/** True when the first bytes are an ELF, PE or Mach-O header. */
export function looksExecutable(head: Buffer): boolean {
  if (head.length >= 2 && head[0] === 0x4d && head[1] === 0x5a) return true; // MZ (PE)
  return EXECUTABLE_MAGICS.some((m) => head.length >= 4 && head.subarray(0, 4).equals(m));
}

type Varint = { value: number; size: number } | 'short' | 'bad';

function uvarint(buf: Buffer, at: number): Varint {
  let value = 0;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const b = buf[at + i];
    if (b === undefined) return 'short';
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return { value, size: i + 1 };
  }
  return 'bad';
}

/** The verdict on a magic at the start of `b`: more bytes needed (how many in all), not build info, or the info. */
type Verdict = { need: number } | 'reject' | GoBuildInfo;

function judge(b: Buffer): Verdict {
  if (b.length < HEADER_SIZE + 1) return { need: HEADER_SIZE + MAX_VARINT_BYTES };
  const pointerSize = b[14];
  const flags = b[15] ?? 0;
  if ((pointerSize !== 4 && pointerSize !== 8) || (flags & FLAG_INLINE) === 0) return 'reject';
  const vlen = uvarint(b, HEADER_SIZE);
  if (vlen === 'bad') return 'reject';
  if (vlen === 'short') return { need: HEADER_SIZE + MAX_VARINT_BYTES };
  if (vlen.value === 0 || vlen.value > MAX_VERSION_LENGTH) return 'reject';
  const vstart = HEADER_SIZE + vlen.size;
  const vend = vstart + vlen.value;
  if (b.length < vend + 1) return { need: vend + MAX_VARINT_BYTES };
  const goVersion = b.toString('latin1', vstart, vend);
  if (!goVersion.startsWith('go') && !goVersion.startsWith('devel')) return 'reject';
  const mlen = uvarint(b, vend);
  if (mlen === 'bad') return 'reject';
  if (mlen === 'short') return { need: vend + MAX_VARINT_BYTES };
  if (mlen.value > MAX_MODINFO_LENGTH) return 'reject';
  const mstart = vend + mlen.size;
  const mend = mstart + mlen.value;
  if (b.length < mend) return { need: mend };
  const mod = b.subarray(mstart, mend);
  // The module info is wrapped in two 16-byte sentinels; the text before the end one ends in \n.
  const text = mod.length >= 33 && mod[mod.length - 17] === 0x0a ? mod.toString('utf8', 16, mod.length - 16) : '';
  return { goVersion, ...parseModInfo(text) };
}

/** The module lines of the build info: `path`, `mod`, `dep`, `=>` (replaces the dep before it), `build`. */
export function parseModInfo(text: string): { main: GoModule | null; deps: GoModule[] } {
  let main: GoModule | null = null;
  const deps: GoModule[] = [];
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    const kind = f[0];
    const mod: GoModule = { path: f[1] ?? '', version: f[2] ?? '' };
    if (mod.path === '') continue;
    if (kind === 'mod') main = mod;
    else if (kind === 'dep') deps.push(mod);
    else if (kind === '=>' && deps.length > 0) deps[deps.length - 1] = mod;
  }
  return { main, deps };
}

/**
 * Finds and decodes the build info in a stream of chunks. `push` returns false once it has an
 * answer (or knows the file is not an executable); `result` is then the info or null.
 */
export class GoBuildInfoScanner {
  /** The info once found; null when the stream is not an executable or ended without one. */
  result: GoBuildInfo | null = null;
  private done = false;
  private head: Buffer | null = Buffer.alloc(0);
  /** Search mode: the last bytes of the stream that could begin a magic. */
  private tail: Buffer = Buffer.alloc(0);
  /** Absolute offset of the first byte of `tail` (or of the candidate). */
  private base = 0;
  /** Capture mode: the candidate's bytes so far and how many it needs. */
  private candidate: Buffer[] | null = null;
  private candidateLength = 0;
  private need = 0;

  push(chunk: Buffer): boolean {
    if (this.done) return false;
    if (this.head !== null) {
      // Check the file type on the first 4 bytes before anything else.
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 4) return true;
      const head = this.head;
      this.head = null;
      if (!looksExecutable(head)) return this.finish(null);
      return this.scan(head);
    }
    if (this.candidate !== null) {
      this.candidate.push(chunk);
      this.candidateLength += chunk.length;
      if (this.candidateLength < this.need) return true;
      const buf = Buffer.concat(this.candidate, this.candidateLength);
      this.candidate = null;
      return this.search(buf, 0);
    }
    return this.scan(chunk);
  }

  /** Called at the end of the stream. */
  end(): GoBuildInfo | null {
    if (!this.done && this.candidate !== null) {
      // The stream ended inside a candidate: judge what there is, then search past it.
      const buf = Buffer.concat(this.candidate, this.candidateLength);
      this.candidate = null;
      this.search(buf, 0, true);
    }
    this.done = true;
    return this.result;
  }

  private finish(info: GoBuildInfo | null): false {
    this.result = info;
    this.done = true;
    this.candidate = null;
    this.tail = Buffer.alloc(0);
    return false;
  }

  private scan(chunk: Buffer): boolean {
    if (this.tail.length > 0) {
      // Join the two only for a short chunk or a magic that starts in the tail; otherwise the
      // chunk is searched in place and only its last bytes are copied.
      const joint = Buffer.concat([this.tail, chunk.subarray(0, MAGIC.length - 1)]);
      if (chunk.length < MAGIC.length || joint.includes(MAGIC)) return this.search(Buffer.concat([this.tail, chunk]), 0);
      this.base += this.tail.length;
      this.tail = Buffer.alloc(0);
    }
    return this.search(chunk, 0);
  }

  /** Searches `buf` (which starts at `this.base`) from `from`; `ended` when no more bytes will come. */
  private search(buf: Buffer, from: number, ended = false): boolean {
    let at = from;
    for (;;) {
      const i = buf.indexOf(MAGIC, at);
      if (i < 0) break;
      if ((this.base + i) % 16 !== 0) {
        at = i + 1;
        continue;
      }
      const verdict = judge(buf.subarray(i));
      if (verdict === 'reject') {
        at = i + 1;
        continue;
      }
      if ('need' in verdict) {
        if (ended) {
          at = i + 1;
          continue;
        }
        // Keep the candidate's bytes (copied, so the chunk is not retained) and wait for more.
        this.base += i;
        const kept = Buffer.from(buf.subarray(i));
        this.candidate = [kept];
        this.candidateLength = kept.length;
        this.need = verdict.need;
        this.tail = Buffer.alloc(0);
        return true;
      }
      return this.finish(verdict);
    }
    if (ended) return this.finish(null);
    const keep = Math.max(at, buf.length - (MAGIC.length - 1));
    this.base += keep;
    this.tail = Buffer.from(buf.subarray(keep));
    return true;
  }
}
