/**
 * A streaming reader of tar archives for the layer walker: POSIX ustar, pax extended headers
 * (`path`, `linkpath`, `size`) and GNU long names and links, base-256 sizes, every header's
 * checksum checked.
 *
 * It exists for speed (docs/scanning.md, "Reading tar"): an image's layers hold tens of thousands
 * of files of which the analyzers read a few hundred, and a stream per entry (tar-stream's) made
 * the entries, not the inflating, the main thread's cost. Here a body nobody reads is skipped by
 * moving an offset; a body that is read is handed out as views of the chunks that came in (or
 * copies, when the chunks are lent: {@link ReadTarOptions}), with no stream of its own. Nothing
 * is buffered beyond the chunk being parsed and one extended header (at most
 * {@link MAX_EXTENDED_HEADER_BYTES}).
 */

/** An entry's kind, named as tar-stream names them (the layer walker maps them to its own). */
export type TarEntryType =
  | 'file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'contiguous-file'
  | 'gnu-dumpdir'
  | 'other';

export interface TarHeader {
  /** The path as written (pax `path` or GNU long name first, else ustar prefix + name). */
  name: string;
  type: TarEntryType;
  /** The body's length in bytes (0 for directories, whatever the header says). */
  size: number;
  mode: number;
  /** Link target as written (pax `linkpath` or GNU long link first). */
  linkname: string;
}

/** How {@link readTar} may use its input's chunks. */
export interface ReadTarOptions {
  /**
   * Each chunk is valid only until the next one is asked for (the layer walker's program decoders
   * read into a few reused buffers). Headers are read while their chunk is valid; bodies are
   * handed out as copies. Without it chunks are kept as they are and bodies are views of them.
   */
  lentChunks?: boolean;
}

/** Called once per entry in archive order; what the body's iteration leaves unread is skipped after it resolves (or returns nothing). */
export type TarEntryHandler = (header: TarHeader, body: AsyncIterable<Buffer>) => Promise<void> | undefined;

/** A pax or GNU extended header larger than this is refused (tar-stream's limit was 1 MiB too). */
export const MAX_EXTENDED_HEADER_BYTES = 1024 * 1024;

/** Input that is not a well-formed tar archive. */
export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

const BLOCK = 512;
const EMPTY = Buffer.alloc(0);

/** Pulls bytes from an async iterable of chunks; hands out views of them, copying only what spans two. */
class ChunkReader {
  private chunk: Buffer = EMPTY;
  private at = 0;
  private ended = false;

  constructor(private readonly input: AsyncIterator<Buffer>) {}

  /** Ensures unread bytes are at hand; false at the end of the input. */
  private async fill(): Promise<boolean> {
    while (this.at >= this.chunk.length) {
      if (this.ended) return false;
      const next = await this.input.next();
      if (next.done === true) {
        this.ended = true;
        return false;
      }
      this.chunk = next.value;
      this.at = 0;
    }
    return true;
  }

  /** `n` bytes when the current chunk holds them (no promise: most headers), else undefined. */
  takeNow(n: number): Buffer | undefined {
    if (this.chunk.length - this.at < n) return undefined;
    const out = this.chunk.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** Skips `n` bytes when the current chunk holds them (no promise); false when it does not (nothing skipped). */
  skipNow(n: number): boolean {
    if (this.chunk.length - this.at < n) return false;
    this.at += n;
    return true;
  }

  /** Exactly `n` bytes; null when the input ended before the first of them, a short buffer when it ended inside. */
  async take(n: number): Promise<Buffer | null> {
    const here = this.takeNow(n);
    if (here !== undefined) return here;
    // Across chunks (or after a refill): copied as it comes, since a lent chunk is gone once the
    // next one is asked for.
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      if (!(await this.fill())) return got === 0 ? null : out.subarray(0, got);
      const k = Math.min(n - got, this.chunk.length - this.at);
      this.chunk.copy(out, got, this.at, this.at + k);
      this.at += k;
      got += k;
    }
    return out;
  }

  /** Between 1 and `max` bytes, or null at the end of the input. */
  async some(max: number): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    const k = Math.min(max, this.chunk.length - this.at);
    const out = this.chunk.subarray(this.at, this.at + k);
    this.at += k;
    return out;
  }

  /** Skips `n` bytes; false when the input ended first. */
  async skip(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      const here = this.chunk.length - this.at;
      if (here >= left) {
        this.at += left;
        return true;
      }
      left -= here;
      this.at = this.chunk.length;
      if (!(await this.fill())) return false;
    }
    return true;
  }
}

/** The body of the entry being read: its bytes as they come, `left` of them not yet handed out. */
class Body implements AsyncIterable<Buffer> {
  left: number;

  constructor(
    private readonly reader: ChunkReader,
    size: number,
    private readonly name: string,
    /** The input's chunks are lent: hand out copies, which the visitor may keep. */
    private readonly lent: boolean,
  ) {
    this.left = size;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    while (this.left > 0) {
      const chunk = await this.reader.some(this.left);
      if (chunk === null) throw truncated(this.name);
      this.left -= chunk.length;
      yield this.lent ? Buffer.from(chunk) : chunk;
    }
  }
}

function truncated(name: string): TarFormatError {
  return new TarFormatError(`the tar stream ends inside the entry ${JSON.stringify(name)}`);
}

/** Bytes of padding after a body of `size` bytes, up to the next 512-byte block. */
function padding(size: number): number {
  const over = size % BLOCK;
  return over === 0 ? 0 : BLOCK - over;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** The header checksum: every byte summed with the checksum field counted as spaces (unsigned, or signed as some old tars wrote it). */
function checksumMatches(block: Buffer, stored: number): boolean {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i] ?? 0;
  for (let i = 156; i < BLOCK; i++) sum += block[i] ?? 0;
  if (sum === stored) return true;
  let signed = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) {
    if (i >= 148 && i < 156) continue;
    const b = block[i] ?? 0;
    signed += b >= 0x80 ? b - 0x100 : b;
  }
  return signed === stored;
}

/** An octal field (leading spaces and NULs allowed, ended by a space or NUL) or a GNU base-256 one. */
function numberField(block: Buffer, offset: number, length: number, what: string): number {
  const end = offset + length;
  const first = block[offset] ?? 0;
  if (first & 0x80) {
    if (first !== 0x80) throw new TarFormatError(`a negative ${what} in a tar header`);
    let n = 0;
    for (let i = offset + 1; i < end; i++) n = n * 256 + (block[i] ?? 0);
    if (!Number.isSafeInteger(n)) throw new TarFormatError(`a ${what} too large in a tar header`);
    return n;
  }
  let i = offset;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  let n = 0;
  for (; i < end; i++) {
    const c = block[i] ?? 0;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) throw new TarFormatError(`an invalid ${what} in a tar header (not an octal number)`);
    n = n * 8 + (c - 0x30);
  }
  return n;
}

/** A NUL-terminated UTF-8 string field. */
function stringField(block: Buffer, offset: number, length: number): string {
  const nul = block.indexOf(0, offset);
  const end = nul < 0 || nul > offset + length ? offset + length : nul;
  return block.toString('utf8', offset, end);
}

const USTAR = Buffer.from('ustar\u0000', 'latin1');

function typeOf(flag: number, name: string): TarEntryType {
  switch (flag) {
    case 0:
    case 0x30:
      // Old tars mark a directory by a trailing slash only.
      return name.endsWith('/') ? 'directory' : 'file';
    case 0x31:
      return 'link';
    case 0x32:
      return 'symlink';
    case 0x33:
      return 'character-device';
    case 0x34:
      return 'block-device';
    case 0x35:
      return 'directory';
    case 0x36:
      return 'fifo';
    case 0x37:
      return 'contiguous-file';
    case 0x44: // 'D'
      return 'gnu-dumpdir';
    default:
      return 'other';
  }
}

/** The records of a pax extended header (`<length> <key>=<value>\n` each) that matter here. */
function paxRecords(body: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < body.length) {
    if (body[at] === 0) break; // NUL padding after the last record
    const space = body.indexOf(0x20, at);
    const length = space < 0 ? NaN : Number(body.toString('latin1', at, space));
    if (!Number.isSafeInteger(length) || length <= space - at + 1 || at + length > body.length || body[at + length - 1] !== 0x0a) {
      throw new TarFormatError('a malformed pax extended header in the tar stream');
    }
    const record = body.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw new TarFormatError('a malformed pax extended header in the tar stream');
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/**
 * Reads a tar archive from `input` and calls `onEntry` for each entry, in order. Zero blocks are
 * skipped (so archives written back to back read as one, as tar-stream read them) and the input is
 * read to its end. Rejects with a {@link TarFormatError} on a malformed archive, or with
 * `onEntry`'s or the input's error.
 */
export async function readTar(input: AsyncIterable<Buffer>, onEntry: TarEntryHandler, opts: ReadTarOptions = {}): Promise<void> {
  const lent = opts.lentChunks === true;
  const reader = new ChunkReader(input[Symbol.asyncIterator]());
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax: Map<string, string> | null = null;
  for (;;) {
    const block = reader.takeNow(BLOCK) ?? (await reader.take(BLOCK));
    if (block === null) return;
    if (block.length < BLOCK) throw new TarFormatError('the tar stream ends inside a header');
    if (isZeroBlock(block)) continue;
    if (!checksumMatches(block, numberField(block, 148, 8, 'checksum'))) {
      throw new TarFormatError('a tar header with a wrong checksum: the layer is corrupt or not a tar archive');
    }
    const flag = block[156] ?? 0;
    let size = numberField(block, 124, 12, 'size');
    // x: pax header for the next entry, g: pax global header, L/K: GNU long name/link for the next entry.
    if (flag === 0x78 || flag === 0x67 || flag === 0x4c || flag === 0x4b) {
      if (size > MAX_EXTENDED_HEADER_BYTES) {
        throw new TarFormatError(`a tar extended header of ${size} bytes is over the ${MAX_EXTENDED_HEADER_BYTES}-byte limit`);
      }
      const body = await reader.take(size);
      if (size > 0 && (body === null || body.length < size)) throw new TarFormatError('the tar stream ends inside an extended header');
      // Read before the padding is skipped: that may ask for the next chunk, and a lent one is then gone.
      const bytes = body ?? EMPTY;
      if (flag === 0x78) pax = paxRecords(bytes);
      else if (flag === 0x4c) longName = stringField(bytes, 0, bytes.length);
      else if (flag === 0x4b) longLink = stringField(bytes, 0, bytes.length);
      // A global header's records (git archive's commit id, say) name no entry's path, link or size.
      if (!(await reader.skip(padding(size)))) throw new TarFormatError('the tar stream ends inside an extended header');
      continue;
    }
    let name = stringField(block, 0, 100);
    if (block.compare(USTAR, 0, USTAR.length, 257, 263) === 0 && block[345] !== 0) name = `${stringField(block, 345, 155)}/${name}`;
    let linkname = stringField(block, 157, 100);
    if (longName !== null) name = longName;
    if (longLink !== null) linkname = longLink;
    if (pax !== null) {
      const path = pax.get('path');
      const linkpath = pax.get('linkpath');
      const paxSize = pax.get('size');
      if (path?.includes('\u0000') || linkpath?.includes('\u0000')) throw new TarFormatError('a pax path with a NUL byte in the tar stream');
      if (path !== undefined) name = path;
      if (linkpath !== undefined) linkname = linkpath;
      if (paxSize !== undefined) {
        const n = /^\d{1,16}$/.test(paxSize) ? Number(paxSize) : NaN;
        if (!Number.isSafeInteger(n)) throw new TarFormatError('an invalid size in a pax extended header');
        size = n;
      }
    }
    longName = longLink = pax = null;
    const type = typeOf(flag, name);
    // A directory stores no data, whatever its size field says (POSIX).
    if (type === 'directory') size = 0;
    const header: TarHeader = { name, type, size, mode: numberField(block, 100, 8, 'mode'), linkname };
    const body = new Body(reader, size, name, lent);
    const handling = onEntry(header, body);
    if (handling !== undefined) await handling;
    const rest = body.left + padding(size);
    if (!reader.skipNow(rest)) {
      if (!(await reader.skip(body.left))) throw truncated(name);
      // Padding cut short at the very end of the input loses no data; the next take() ends the loop.
      await reader.skip(padding(size));
    }
  }
}
